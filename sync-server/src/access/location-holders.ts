import type { AccessHolder, HeldGrant } from '@depotline/shared';
import type { Db } from '../db/database';
import { loadAccessProfile, viewAt } from './access-profile';
import { grantsRequireMfa } from './authority';
import { usersAtLocation } from './authorize';
import { getGrant } from './grants';

/**
 * Who holds what at a location: each user with an active grant there, the grants (role or
 * group) that cover it, and what they may do there once every grant and denial is folded, by
 * the same `loadAccessProfile` every check uses. A grant's other locations are shown only where
 * they are among `within` (where the reader manages groups or grants; null for the operator).
 */
export async function listLocationHolders(
  db: Db, locationId: string, mfaRequiredRoles: ReadonlySet<string>, within: readonly string[] | null, now: number,
): Promise<AccessHolder[]> {
  const userIds = await usersAtLocation(db, locationId, now);
  if (userIds.length === 0) return [];
  const users = await db.selectFrom('users').select(['id', 'username', 'display_name']).where('id', 'in', userIds).where('disabled_at', 'is', null).orderBy('username').execute();
  const out: AccessHolder[] = [];
  for (const user of users) {
    const profile = await loadAccessProfile(db, user.id, now);
    const view = viewAt(profile, locationId, now);
    const grantRows = await db.selectFrom('grants').innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
      .select('grants.id').where('grants.user_id', '=', user.id).where('grant_locations.location_id', '=', locationId)
      .where('grants.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]))
      .orderBy('grants.created_at').execute();
    const grants: HeldGrant[] = [];
    for (const { id } of grantRows) {
      const g = await getGrant(db, id);
      if (!g) continue;
      grants.push({
        grantId: g.id, role: g.role, group: g.groupId !== null ? { id: g.groupId, name: g.groupName ?? g.groupId } : null,
        locationIds: within === null ? g.locationIds : g.locationIds.filter((l) => within.includes(l)), expiresAt: g.expiresAt,
      });
    }
    const general = view ? [...view.general] : [];
    out.push({
      userId: user.id, username: user.username, displayName: user.display_name, grants,
      permissions: general.sort(),
      assignedPermissions: view ? [...view.assigned].filter((p) => !view.general.has(p)).sort() : [],
      denials: view ? [...view.denials].sort() : [...denialsAt(profile, grants)].sort(),
      mfaRequired: grantsRequireMfa(profile, mfaRequiredRoles),
      expiresAt: view?.expiresAt ?? null,
    });
  }
  return out;
}

/** The denials of a user whose grants here leave nothing (their location is absent from the profile). */
function denialsAt(profile: Awaited<ReturnType<typeof loadAccessProfile>>, grants: readonly HeldGrant[]): Set<string> {
  const out = new Set<string>();
  for (const g of grants) {
    const group = g.group ? profile.groups.get(g.group.id) : undefined;
    for (const p of group?.denials ?? []) out.add(p);
  }
  return out;
}
