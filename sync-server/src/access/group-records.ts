import type { Group, GroupShape, Permission } from '@depotline/shared';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { type AccessProfile, parsePermissionList, viewAt } from './access-profile';

/* Reading permission groups and presenting them (shared/src/groups.ts). */

type GroupRow = Database['permission_groups'];

/** A group as stored, lists parsed, with its scope. */
export interface GroupRecord {
  id: string;
  name: string;
  description: string;
  permissions: Permission[];
  denials: Permission[];
  locationIds: string[];
  mfaRequired: boolean;
  mustExpire: boolean;
  version: number;
  createdAt: number;
  createdBy: string | null;
  updatedAt: number;
  updatedBy: string | null;
  retiredAt: number | null;
  retiredBy: string | null;
}

function recordOf(row: GroupRow, locationIds: string[]): GroupRecord {
  return {
    id: row.id, name: row.name, description: row.description,
    permissions: parsePermissionList(row.permissions).sort(), denials: parsePermissionList(row.denials).sort(),
    locationIds: [...locationIds].sort(), mfaRequired: row.mfa_required !== 0, mustExpire: row.must_expire !== 0,
    version: Number(row.version), createdAt: Number(row.created_at), createdBy: row.created_by,
    updatedAt: Number(row.updated_at), updatedBy: row.updated_by,
    retiredAt: row.retired_at === null ? null : Number(row.retired_at), retiredBy: row.retired_by,
  };
}

/** The parts of a group that decide what its holders may do (for `groupChangeWidens` and the audit log). */
export function shapeOf(g: GroupRecord): GroupShape & { name: string } {
  return { name: g.name, permissions: g.permissions, denials: g.denials, locationIds: g.locationIds, mfaRequired: g.mfaRequired, mustExpire: g.mustExpire };
}

async function scopesOf(db: Db, groupIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return out;
  const rows = await db.selectFrom('permission_group_locations').select(['group_id', 'location_id']).where('group_id', 'in', groupIds).execute();
  for (const r of rows) out.get(r.group_id)?.push(r.location_id);
  return out;
}

export async function findGroup(db: Db, by: { id: string } | { name: string }): Promise<GroupRecord | null> {
  const query = db.selectFrom('permission_groups').selectAll();
  const row = await ('id' in by ? query.where('id', '=', by.id) : query.where('name', '=', by.name)).executeTakeFirst();
  if (!row) return null;
  return recordOf(row, (await scopesOf(db, [row.id])).get(row.id)!);
}

/** Users holding an active (not revoked, not expired) grant of each group, at one of `within` (null: anywhere). */
async function holderCounts(db: Db, groupIds: readonly string[], within: readonly string[] | null, now: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (groupIds.length === 0 || within?.length === 0) return out;
  let query = db.selectFrom('grants').innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
    .select(['grants.group_id', 'grants.user_id']).distinct()
    .where('grants.group_id', 'in', groupIds).where('grants.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]));
  if (within !== null) query = query.where('grant_locations.location_id', 'in', [...within]);
  for (const r of await query.execute()) if (r.group_id !== null) out.set(r.group_id, (out.get(r.group_id) ?? 0) + 1);
  return out;
}

/**
 * Groups as a reader sees them: `within` is where the reader holds `group.manage` or
 * `grant.manage` (`groupManagingLocations`; null for the operator, who sees everything). The
 * scope and the holder count are limited to those locations, so a group shared with another
 * depot does not tell its reader where else it is granted, or to how many.
 */
export async function presentGroups(db: Db, records: readonly GroupRecord[], within: readonly string[] | null, now: number): Promise<Group[]> {
  const counts = await holderCounts(db, records.map((r) => r.id), within, now);
  return records.map((r) => ({
    ...r, locationIds: within === null ? r.locationIds : r.locationIds.filter((l) => within.includes(l)), holders: counts.get(r.id) ?? 0,
  }));
}

export async function presentGroup(db: Db, record: GroupRecord, within: readonly string[] | null, now: number): Promise<Group> {
  return (await presentGroups(db, [record], within, now))[0]!;
}

/** Locations where the profile may see groups: where it holds `group.manage` or `grant.manage`. */
export function groupManagingLocations(profile: AccessProfile, now: number): string[] {
  return [...profile.byLocation.keys()].filter((id) => {
    const general = viewAt(profile, id, now)?.general;
    return general?.has('group.manage') || general?.has('grant.manage');
  });
}

/**
 * Groups whose scope meets `within` (null: every group, for the admin CLI), optionally only
 * those that may be granted at `locationId`, by name.
 */
export async function listGroupRecords(db: Db, opts: { within: readonly string[] | null; locationId?: string; includeRetired: boolean }): Promise<GroupRecord[]> {
  if (opts.within !== null && opts.within.length === 0) return [];
  let query = db.selectFrom('permission_groups').selectAll().orderBy('name');
  if (!opts.includeRetired) query = query.where('retired_at', 'is', null);
  const locations = opts.within === null ? null : opts.within.filter((l) => opts.locationId === undefined || l === opts.locationId);
  const only = locations ?? (opts.locationId === undefined ? null : [opts.locationId]);
  if (only !== null) {
    if (only.length === 0) return [];
    query = query.where('id', 'in', db.selectFrom('permission_group_locations').select('group_id').where('location_id', 'in', only));
  }
  const rows = await query.execute();
  const scopes = await scopesOf(db, rows.map((r) => r.id));
  return rows.map((r) => recordOf(r, scopes.get(r.id)!));
}

/** Active grants of the group at any of `locationIds` (to refuse narrowing its scope under them). */
export async function activeGroupGrantLocations(db: Db, groupId: string, locationIds: readonly string[], now: number): Promise<string[]> {
  if (locationIds.length === 0) return [];
  const rows = await db.selectFrom('grants').innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
    .select('grant_locations.location_id').distinct()
    .where('grants.group_id', '=', groupId).where('grants.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]))
    .where('grant_locations.location_id', 'in', locationIds)
    .execute();
  return rows.map((r) => r.location_id).sort();
}
