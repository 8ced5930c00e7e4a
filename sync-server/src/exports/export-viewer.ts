import { allPermissions, type Permission, type RoleName } from '@depotline/shared';
import { loadAccessProfile } from '../access/access-profile';
import type { Caller } from '../access/caller';
import type { AuditActor } from '../audit/audit-log';
import type { Db } from '../db/database';
import { loadViewerScope } from '../sync/visibility';
import type { ExportViewer } from './export-stops';

/** A signed-in caller as the viewer of an export at one location (their grants there, their routes). */
export async function viewerForCaller(db: Db, caller: Caller, locationId: string, now: number): Promise<ExportViewer> {
  return {
    actor: caller.actor,
    name: `${caller.principal.username} (${caller.principal.displayName})`,
    scope: await loadViewerScope(db, caller.profile, locationId, now),
  };
}

/**
 * Any user as the viewer of an export, with the grants they hold at `now` (an approved bulk
 * export runs with the requester's access as it is when it runs, not as it was when asked).
 * Null when the user does not exist or is disabled.
 */
export async function viewerForUser(db: Db, userId: string, actor: AuditActor, locationId: string, now: number): Promise<ExportViewer | null> {
  const user = await db.selectFrom('users').select(['username', 'display_name', 'disabled_at']).where('id', '=', userId).executeTakeFirst();
  if (!user || user.disabled_at !== null) return null;
  const profile = await loadAccessProfile(db, userId, now);
  return { actor, name: `${user.username} (${user.display_name})`, scope: await loadViewerScope(db, profile, locationId, now) };
}

/**
 * The operator at the server's command line: no account and no grants, but the database and
 * the field key are theirs already, so the export shows every field; the audit log names the
 * OS account that ran it.
 */
export function operatorViewer(actor: AuditActor, locationId: string): ExportViewer {
  // Every permission, with no group, denial or expiry.
  const everything = {
    locationId, roles: new Set<RoleName>(['admin']), groups: new Set<string>(), general: new Set<Permission>(allPermissions),
    assigned: new Set<Permission>(), denials: new Set<Permission>(), expiresAt: null,
  };
  return { actor, name: `${actor.label} (operator)`, scope: { view: everything, ownRouteIds: new Set() } };
}
