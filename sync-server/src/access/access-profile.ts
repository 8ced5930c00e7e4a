import {
  isMachinePermission, isPermission, type LocationAccess, type Permission, type RoleName, roleNames, roleTemplates,
} from '@depotline/shared';
import type { Db } from '../db/database';

/** What one user may do at one location, from every active grant that covers it. */
export interface LocationView {
  locationId: string;
  roles: ReadonlySet<RoleName>;
  /** Ids of the custom groups granted here (their names and flags: `AccessProfile.groups`). */
  groups: ReadonlySet<string>;
  /**
   * Permissions that apply to everything at the location (from roles that are not limited
   * to assigned routes, and from groups), less the denials.
   */
  general: ReadonlySet<Permission>;
  /**
   * Permissions that apply only to stops and routes assigned to the user as a driver
   * (driver role); a superset of `general`, less the denials. Empty when the user drives no route here.
   */
  assigned: ReadonlySet<Permission>;
  /** What the groups granted here deny, whatever any other grant gives here. */
  denials: ReadonlySet<Permission>;
  /** The earliest expiry among the grants that make up this view (null: none expires). */
  expiresAt: number | null;
}

/** A custom group one of the user's grants names, as it stands now. */
export interface GroupInForce {
  id: string;
  name: string;
  permissions: ReadonlySet<Permission>;
  denials: ReadonlySet<Permission>;
  mfaRequired: boolean;
}

export interface AccessProfile {
  userId: string;
  loadedAt: number;
  byLocation: ReadonlyMap<string, LocationView>;
  /** Every group one of the active grants names (also where it leaves nothing: then absent from `byLocation`). */
  groups: ReadonlyMap<string, GroupInForce>;
}

const isRoleName = (r: string): r is RoleName => (roleNames as readonly string[]).includes(r);

/**
 * A group's stored list of permission names; a name the catalogue no longer has, or a machine
 * permission (integrations only), counts for nothing.
 */
export function parsePermissionList(json: string): Permission[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((p): p is Permission => typeof p === 'string' && isPermission(p) && !isMachinePermission(p)) : [];
}

interface Building {
  roles: Set<RoleName>;
  groups: Set<string>;
  general: Set<Permission>;
  driverOnly: Set<Permission>;
  denials: Set<Permission>;
  expiresAt: number | null;
}

/**
 * Loads the user's active grants (not revoked, not expired) and folds them per location: the
 * permissions of their role templates and groups, less everything a group granted at that
 * location denies (a denial wins over any grant). Deny by default: a location without an active
 * grant, or with nothing but denials, is simply absent. A group allows only at the locations of
 * its scope and nothing once retired; its denials hold wherever it is granted.
 */
export async function loadAccessProfile(db: Db, userId: string, now: number): Promise<AccessProfile> {
  const rows = await db
    .selectFrom('grants')
    .innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
    .innerJoin('users', 'users.id', 'grants.user_id')
    .leftJoin('permission_groups', 'permission_groups.id', 'grants.group_id')
    .leftJoin('permission_group_locations', (j) => j
      .onRef('permission_group_locations.group_id', '=', 'grants.group_id')
      .onRef('permission_group_locations.location_id', '=', 'grant_locations.location_id'))
    .select([
      'grants.role', 'grants.group_id', 'grants.expires_at', 'grant_locations.location_id',
      'permission_groups.name as group_name', 'permission_groups.permissions as group_permissions',
      'permission_groups.denials as group_denials', 'permission_groups.mfa_required as group_mfa',
      'permission_groups.retired_at as group_retired_at', 'permission_group_locations.location_id as in_scope',
    ])
    .where('grants.user_id', '=', userId)
    .where('grants.revoked_at', 'is', null)
    .where('users.disabled_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]))
    .execute();

  const building = new Map<string, Building>();
  const groups = new Map<string, GroupInForce>();
  for (const row of rows) {
    let v = building.get(row.location_id);
    if (!v) {
      v = { roles: new Set(), groups: new Set(), general: new Set(), driverOnly: new Set(), denials: new Set(), expiresAt: null };
      building.set(row.location_id, v);
    }
    if (row.group_id !== null) {
      if (row.group_name === null || row.group_permissions === null || row.group_denials === null) continue;
      let group = groups.get(row.group_id);
      if (!group) {
        group = {
          id: row.group_id, name: row.group_name, permissions: new Set(parsePermissionList(row.group_permissions)),
          denials: new Set(parsePermissionList(row.group_denials)), mfaRequired: row.group_mfa !== 0,
        };
        groups.set(row.group_id, group);
      }
      v.groups.add(row.group_id);
      for (const p of group.denials) v.denials.add(p);
      if (row.group_retired_at === null && row.in_scope !== null) for (const p of group.permissions) v.general.add(p);
    } else {
      if (!isRoleName(row.role)) continue; // an unknown role grants nothing
      const template = roleTemplates[row.role];
      v.roles.add(row.role);
      for (const p of template.permissions) (template.assignedRoutesOnly ? v.driverOnly : v.general).add(p);
    }
    if (row.expires_at !== null) v.expiresAt = v.expiresAt === null ? row.expires_at : Math.min(v.expiresAt, row.expires_at);
  }

  const byLocation = new Map<string, LocationView>();
  for (const [locationId, v] of building) {
    const allowed = (p: Permission) => !v.denials.has(p);
    const general = new Set([...v.general].filter(allowed));
    const driverOnly = [...v.driverOnly].filter(allowed);
    if (general.size === 0 && driverOnly.length === 0) continue;
    const assigned = driverOnly.length > 0 ? new Set([...general, ...driverOnly]) : new Set<Permission>();
    byLocation.set(locationId, { locationId, roles: v.roles, groups: v.groups, general, assigned, denials: v.denials, expiresAt: v.expiresAt });
  }
  return { userId, loadedAt: now, byLocation, groups };
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
