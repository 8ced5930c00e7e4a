import os from 'node:os';
import type { AuditActor } from '../audit/audit-log';

/**
 * The actor of changes made on the server host (admin CLI, demo seeding): no user account,
 * but the OS account that ran the command, so the audit log still says who it was.
 */
export function operatorActor(): AuditActor {
  return { userId: null, label: `cli:${osUsername()}`, deviceId: null, ip: null };
}

function osUsername(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    // No passwd entry (containers run with an arbitrary uid).
    return process.env.USER ?? process.env.LOGNAME ?? `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
