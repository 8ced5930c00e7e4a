import type { AuditActor } from '../audit/audit-log';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { type AccessProfile, loadAccessProfile } from './access-profile';

/**
 * Who is calling, built once per request or socket: the authenticated principal, what their
 * grants allow (the access profile) and how the audit log names them.
 */
export interface Caller {
  principal: Principal;
  profile: AccessProfile;
  actor: AuditActor;
}

export function actorOf(principal: Principal | null, ip: string | null): AuditActor {
  return {
    userId: principal?.userId ?? null,
    label: principal?.username ?? 'anonymous',
    deviceId: principal?.deviceId ?? null,
    ip,
  };
}

export async function loadCaller(ctx: ServerContext, principal: Principal, ip: string | null): Promise<Caller> {
  return { principal, profile: await loadAccessProfile(ctx.db, principal.userId, ctx.now()), actor: actorOf(principal, ip) };
}
