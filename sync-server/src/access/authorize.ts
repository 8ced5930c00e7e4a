import type { Permission } from '@depotline/shared';
import { appendAudit, type AuditActor, type AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { forbidden } from '../errors';
import type { Db } from '../db/database';
import { type AccessProfile, type LocationView, loadAccessProfile, viewAt } from './access-profile';

export interface AuthorizationRequest {
  permission: Permission;
  locationId: string;
  /** The audit action name if this is refused (e.g. `sync.pull`, `stop.setStatus`). */
  action: string;
  targetType?: string;
  targetId?: string;
  /**
   * True when the target is a route (or a stop on a route) assigned to the caller as a
   * driver: then driver-only permissions count too.
   */
  assignedToCaller?: boolean;
}

/**
 * The one authorization check behind every REST route and socket event (docs/security-model.md;
 * OWASP API Security Top 10, API1/API5). Deny by default; a refusal is audited and answered `forbidden`
 * without saying whether the location or record exists.
 */
export async function authorize(
  ctx: ServerContext,
  actor: AuditActor,
  profile: AccessProfile,
  req: AuthorizationRequest,
): Promise<LocationView> {
  const view = checkPermission(profile, req, ctx.now());
  if (view) return view;
  await auditDenied(ctx, actor, req);
  throw forbidden();
}

/** The decision alone, for callers that answer a refusal their own way (rejected mutations). */
export function checkPermission(profile: AccessProfile, req: Omit<AuthorizationRequest, 'action'>, now: number): LocationView | null {
  const view = viewAt(profile, req.locationId, now);
  if (!view) return null;
  if (view.general.has(req.permission)) return view;
  if (req.assignedToCaller && view.assigned.has(req.permission)) return view;
  return null;
}

export async function auditDenied(ctx: ServerContext, actor: AuditActor, req: AuthorizationRequest): Promise<void> {
  await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, deniedEvent(req), ctx.now()));
}

/** The audit entry of a refusal (`auditDenied`, or an endpoint's `audit` when its transaction rolled back). */
export function deniedEvent(req: AuthorizationRequest): AuditEvent {
  return {
    action: req.action,
    outcome: 'denied',
    targetType: req.targetType ?? 'location',
    targetId: req.targetId ?? req.locationId,
    locationId: req.locationId,
    details: { permission: req.permission },
  };
}

/**
 * Whether the holder of `profile` has `permission` over another user, judged by the locations
 * where that user holds an active grant:
 * - `every`: at every one of them, for acts that reach the user everywhere (ending their
 *   sessions, revoking a device, deciding a held sign-in). Authority over one depot is not enough:
 *   an admin of depot A could otherwise grant a depot-B dispatcher access at A and then end their
 *   work at B. Such an admin can only remove the user's access to A.
 * - `some`: at one of them at least, for reading (their devices, alerts and held sign-ins).
 * A user with no active grant reaches no data, so any holder of the permission somewhere may act.
 */
export async function holdsOverUser(db: Db, profile: AccessProfile, targetUserId: string, permission: Permission, now: number, scope: 'every' | 'some'): Promise<boolean> {
  const mine = [...profile.byLocation.keys()].filter((id) => viewAt(profile, id, now)?.general.has(permission));
  if (mine.length === 0) return false;
  const target = await loadAccessProfile(db, targetUserId, now);
  const theirs = [...target.byLocation.keys()].filter((id) => viewAt(target, id, now));
  if (theirs.length === 0) return true;
  return scope === 'every' ? theirs.every((id) => mine.includes(id)) : theirs.some((id) => mine.includes(id));
}

/** Whether the holder of `profile` may end another user's sessions (`session.revokeAny` over all their locations). */
export function mayRevokeSessionsOf(db: Db, profile: AccessProfile, targetUserId: string, now: number): Promise<boolean> {
  return holdsOverUser(db, profile, targetUserId, 'session.revokeAny', now, 'every');
}

/** Users holding an active grant at the location (whose security events its admins may read). */
export async function usersAtLocation(db: Db, locationId: string, now: number): Promise<string[]> {
  const rows = await db.selectFrom('grants').innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
    .select('grants.user_id').distinct()
    .where('grant_locations.location_id', '=', locationId).where('grants.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]))
    .execute();
  return rows.map((r) => r.user_id);
}
