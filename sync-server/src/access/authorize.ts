import type { Permission } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
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
  await ctx.db.transaction().execute((trx) =>
    appendAudit(trx, actor, {
      action: req.action,
      outcome: 'denied',
      targetType: req.targetType ?? 'location',
      targetId: req.targetId ?? req.locationId,
      locationId: req.locationId,
      details: { permission: req.permission },
    }, ctx.now()),
  );
}

/**
 * Whether the holder of `profile` may end another user's sessions: they need
 * `session.revokeAny` at *every* location where the target holds an active grant. Ending a
 * session cuts the user off everywhere, so authority over one of their depots is not enough: an
 * admin of depot A who also holds a grant-giving role there could otherwise grant a depot-B
 * dispatcher access at A and then end their work at B. Such an admin can only remove the user's
 * access to A. A user with no active grant reaches no data, so any holder of
 * `session.revokeAny` may end their sessions.
 */
export async function mayRevokeSessionsOf(db: Db, profile: AccessProfile, targetUserId: string, now: number): Promise<boolean> {
  const revokerLocations = [...profile.byLocation.keys()].filter((id) => viewAt(profile, id, now)?.general.has('session.revokeAny'));
  if (revokerLocations.length === 0) return false;
  const target = await loadAccessProfile(db, targetUserId, now);
  const targetLocations = [...target.byLocation.keys()].filter((id) => viewAt(target, id, now));
  return targetLocations.every((id) => revokerLocations.includes(id));
}
