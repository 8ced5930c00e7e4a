import os from 'node:os';
import type { z } from 'zod';
import type { AuditActor } from '../audit/audit-log';
import { badRequest, zodIssues } from '../errors';

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

/** Parses service input, turning schema failures into the same `bad_request` as the REST API. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw badRequest(zodIssues(parsed.error));
  return parsed.data;
}

export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
