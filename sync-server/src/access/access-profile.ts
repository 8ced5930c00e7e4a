import {
  type LocationAccess, type Permission, type RoleName, roleNames, roleTemplates,
} from '@depotline/shared';
import type { Db } from '../db/database';

/** What one user may do at one location, from every active grant that covers it. */
export interface LocationView {
  locationId: string;
  roles: ReadonlySet<RoleName>;
  /**
   * Permissions that apply to everything at the location (from roles that are not limited
   * to assigned routes).
   */
  general: ReadonlySet<Permission>;
  /**
   * Permissions that apply only to stops and routes assigned to the user as a driver
   * (driver role); a superset of `general`. Empty when the user drives no route here.
   */
  assigned: ReadonlySet<Permission>;
  /** The earliest expiry among the grants that make up this view (null: none expires). */
  expiresAt: number | null;
}

export interface AccessProfile {
  userId: string;
  loadedAt: number;
  byLocation: ReadonlyMap<string, LocationView>;
}

const isRoleName = (r: string): r is RoleName => (roleNames as readonly string[]).includes(r);

/**
 * Loads the user's active grants (not revoked, not expired) and folds them per location.
 * Deny by default: a location without an active grant is simply absent.
 */
export async function loadAccessProfile(db: Db, userId: string, now: number): Promise<AccessProfile> {
  const rows = await db
    .selectFrom('grants')
    .innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
    .innerJoin('users', 'users.id', 'grants.user_id')
    .select(['grants.role', 'grants.expires_at', 'grant_locations.location_id'])
    .where('grants.user_id', '=', userId)
    .where('grants.revoked_at', 'is', null)
    .where('users.disabled_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]))
    .execute();

  const building = new Map<string, { roles: Set<RoleName>; general: Set<Permission>; driverOnly: Set<Permission>; expiresAt: number | null }>();
  for (const row of rows) {
    if (!isRoleName(row.role)) continue; // an unknown role grants nothing
    const template = roleTemplates[row.role];
    let v = building.get(row.location_id);
    if (!v) {
      v = { roles: new Set(), general: new Set(), driverOnly: new Set(), expiresAt: null };
      building.set(row.location_id, v);
    }
    v.roles.add(row.role);
    for (const p of template.permissions) (template.assignedRoutesOnly ? v.driverOnly : v.general).add(p);
    if (row.expires_at !== null) v.expiresAt = v.expiresAt === null ? row.expires_at : Math.min(v.expiresAt, row.expires_at);
  }

  const byLocation = new Map<string, LocationView>();
  for (const [locationId, v] of building) {
    const assigned = v.driverOnly.size > 0 ? new Set([...v.general, ...v.driverOnly]) : new Set<Permission>();
    byLocation.set(locationId, { locationId, roles: v.roles, general: v.general, assigned, expiresAt: v.expiresAt });
  }
  return { userId, loadedAt: now, byLocation };
}

/** The view at a location if it is still in force at `now` (expiry re-checked on every use). */
export function viewAt(profile: AccessProfile, locationId: string, now: number): LocationView | null {
  const view = profile.byLocation.get(locationId);
  if (!view) return null;
  if (view.expiresAt !== null && view.expiresAt <= now) return null;
  return view;
}

/** True when the user holds `permission` at the location for everything there. */
export function grantAllowsLocation(profile: AccessProfile, permission: Permission, locationId: string, now: number): boolean {
  return viewAt(profile, locationId, now)?.general.has(permission) ?? false;
}

/** True when the user holds `permission` at the location at least for their own routes. */
export function grantAllowsAssigned(profile: AccessProfile, permission: Permission, locationId: string, now: number): boolean {
  return viewAt(profile, locationId, now)?.assigned.has(permission) ?? false;
}

/** Locations the user can see, for `GET /me`, `GET /locations` and `sync:locations`. */
export async function listLocationAccess(db: Db, profile: AccessProfile, now: number): Promise<LocationAccess[]> {
  const ids = [...profile.byLocation.keys()].filter((id) => viewAt(profile, id, now));
  if (ids.length === 0) return [];
  const locations = await db.selectFrom('locations').select(['id', 'name', 'timezone']).where('id', 'in', ids).orderBy('name').execute();
  return locations.map((l) => {
    const view = profile.byLocation.get(l.id)!;
    return {
      location: { id: l.id, name: l.name, timezone: l.timezone },
      permissions: [...new Set([...view.general, ...view.assigned])].sort(),
      roles: [...view.roles].sort(),
      expiresAt: view.expiresAt,
    };
  });
}
