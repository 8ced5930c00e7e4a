import { isSensitivePermission, type Permission, type RoleName, roleNames } from '@depotline/shared';
import type { Db } from '../db/database';
import { loadAccessProfile, viewAt } from './access-profile';
import { AccessRefused, type Granter, mayGrantRole, requireAuthority } from './authority';
import type { AuthorizationRequest } from './authorize';
import { findGroup, type GroupRecord } from './group-records';

/*
 * Taking access away with denials (docs/security-model.md, "Permission groups and denials").
 * A grant of a group that denies, or a denial added to a group that is granted, narrows what
 * its holders may do as surely as revoking their grants would, so it needs what revoking them
 * needs: at each location, the authority to take back every role and group the holder has
 * there. A manager therefore cannot narrow an admin or another manager (their `mayGrant` lists
 * neither), and nobody narrows a holder of a group they could not grant.
 */

/** A user and the locations where a change would narrow them. */
export interface Holding {
  userId: string;
  locationIds: readonly string[];
}

const isRoleName = (r: string): r is RoleName => (roleNames as readonly string[]).includes(r);

/** The user's active grants at the locations, one row per location, role or group. */
async function grantsAt(db: Db, holding: Holding, now: number): Promise<{ locationId: string; role: string; groupId: string | null }[]> {
  if (holding.locationIds.length === 0) return [];
  const rows = await db.selectFrom('grants').innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
    .select(['grant_locations.location_id', 'grants.role', 'grants.group_id'])
    .where('grants.user_id', '=', holding.userId).where('grant_locations.location_id', 'in', [...holding.locationIds])
    .where('grants.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]))
    .execute();
  return rows.map((r) => ({ locationId: r.location_id, role: r.role, groupId: r.group_id }));
}

/**
 * Throws `AccessRefused` unless the granter may take back, at each of the holding's locations,
 * every grant the user has there: a role whose `mayGrant` lists theirs, or `grant.manage` and
 * everything a group of theirs allows or denies (what revoking it needs). `exceptGroupId` is the
 * group being edited (its editor's authority over it is checked by the edit).
 */
export async function requireNarrowAuthority(
  db: Db, granter: Granter, holding: Holding, now: number,
  refusal: Omit<AuthorizationRequest, 'permission' | 'locationId'>, opts: { exceptGroupId?: string } = {},
): Promise<void> {
  if (granter.kind === 'operator') return;
  const groups = new Map<string, GroupRecord | null>();
  for (const held of await grantsAt(db, holding, now)) {
    if (held.groupId === null) {
      if (isRoleName(held.role) && mayGrantRole(granter, held.role, held.locationId, now)) continue;
      throw new AccessRefused({ ...refusal, permission: 'grant.manage', locationId: held.locationId },
        `You cannot take access away from this user at ${held.locationId}: they hold the ${held.role} role there, which you may not grant.`);
    }
    if (held.groupId === opts.exceptGroupId) continue;
    if (!groups.has(held.groupId)) groups.set(held.groupId, await findGroup(db, { id: held.groupId }));
    const group = groups.get(held.groupId);
    if (!group) continue;
    requireAuthority(granter, [held.locationId], 'grant.manage', [...group.permissions, ...group.denials], now, refusal,
      `You cannot take access away from this user at ${held.locationId}: they hold the group "${group.name}" there, which you may not grant.`);
  }
}

/**
 * The sensitive permissions (`isSensitivePermission`) among `denials` that a holding's user
 * holds now at one of its locations: denying them takes a power away from someone who has it,
 * a privileged change that needs a second person.
 */
export async function sensitiveDenialsHeld(db: Db, holdings: readonly Holding[], denials: readonly Permission[], now: number): Promise<Permission[]> {
  const sensitive = denials.filter(isSensitivePermission);
  if (sensitive.length === 0) return [];
  const out = new Set<Permission>();
  for (const holding of holdings) {
    const profile = await loadAccessProfile(db, holding.userId, now);
    for (const locationId of holding.locationIds) {
      const general = viewAt(profile, locationId, now)?.general;
      for (const p of sensitive) if (general?.has(p)) out.add(p);
    }
  }
  return [...out].sort();
}

/** Who holds the group now: each user with an active grant of it and the locations of those grants. */
export async function groupHoldings(db: Db, groupId: string, now: number): Promise<Holding[]> {
  const rows = await db.selectFrom('grants').innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
    .select(['grants.user_id', 'grant_locations.location_id'])
    .where('grants.group_id', '=', groupId).where('grants.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]))
    .execute();
  const byUser = new Map<string, Set<string>>();
  for (const r of rows) byUser.set(r.user_id, (byUser.get(r.user_id) ?? new Set()).add(r.location_id));
  return [...byUser].sort(([a], [b]) => a.localeCompare(b)).map(([userId, locs]) => ({ userId, locationIds: [...locs].sort() }));
}
