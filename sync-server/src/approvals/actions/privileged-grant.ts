import { type Permission, type PrivilegedGrantChange, roleTemplates } from '@depotline/shared';
import { viewAt } from '../../access/access-profile';
import { AccessRefused } from '../../access/authority';
import { findGroup } from '../../access/group-records';
import { applyGrantCreate, requireGroupGrantAuthority } from '../../access/grants';
import type { Db } from '../../db/database';
import type { SensitiveActionHandler } from '../action';
import { userLabel, userUnavailable } from './users-reached';

type GroupGrantChange = Extract<PrivilegedGrantChange, { groupId: string }>;
const isGroupGrant = (change: PrivilegedGrantChange): change is GroupGrantChange => 'groupId' in change;
const uniq = <T>(xs: readonly T[]) => [...new Set(xs)].sort();

/** What the grant hands out: the role's permissions, or the group's as it stands now (none once it is gone). */
async function handsOutOf(db: Db, change: PrivilegedGrantChange): Promise<Permission[]> {
  if (!isGroupGrant(change)) return [...roleTemplates[change.role].permissions];
  return (await findGroup(db, { id: change.groupId }))?.permissions ?? [];
}

/** Why the group can no longer be granted as asked, or null (the direct path refuses the same in `applyGrantCreate`). */
async function groupProblem(db: Db, change: GroupGrantChange): Promise<string | null> {
  const group = await findGroup(db, { id: change.groupId });
  if (!group) return 'the group no longer exists';
  if (group.retiredAt !== null) return 'the group was retired';
  if (group.version !== change.groupVersion) return `the group changed since the request (version ${change.groupVersion}, now ${group.version})`;
  const outside = uniq(change.locationIds).filter((l) => !group.locationIds.includes(l));
  if (outside.length > 0) return `the group may not be granted at ${outside.join(', ')} (outside its scope)`;
  if (group.mustExpire && change.expiresAt == null) return 'grants of the group must expire';
  return null;
}

/**
 * `grant.privileged`: a grant of admin or manager, or of a group holding a sensitive permission
 * or denying one the grantee holds (`groupGrantNeedsSecondPerson` in access/grants.ts). The
 * requester must be able to make the grant directly: a role whose `mayGrant` lists the role, or
 * what `requireGroupGrantAuthority` asks, at every named location. The approver must hold everything it hands out there. A group
 * grant names the group's version: a group edited since the request makes it stale.
 */
export const privilegedGrant: SensitiveActionHandler<'grant.privileged'> = {
  touches: (_db, change) => Promise.resolve(uniq(change.locationIds)),
  handsOut: (db, change) => handsOutOf(db, change),
  subjectUserId: (change) => change.userId,
  async mayRequest(db, requester, change, now) {
    if (isGroupGrant(change)) {
      const group = await findGroup(db, { id: change.groupId });
      if (!group) return 'the group no longer exists';
      // What the direct path asks (grants.ts): everything the group allows or denies, and the authority to narrow the grantee.
      try {
        await requireGroupGrantAuthority(db, { kind: 'user', actor: requester.actor, profile: requester.profile }, group, { userId: change.userId, locationIds: uniq(change.locationIds) }, now);
        return null;
      } catch (err) {
        if (err instanceof AccessRefused) return `they lack ${err.request.permission} at ${err.request.locationId}`;
        throw err;
      }
    }
    for (const locationId of new Set(change.locationIds)) {
      const view = viewAt(requester.profile, locationId, now);
      const allowed = view !== null && view.general.has('grant.manage') && [...view.roles].some((r) => roleTemplates[r].mayGrant.includes(change.role));
      if (!allowed) return `they cannot grant ${change.role} at ${locationId}`;
    }
    return null;
  },
  async check(db, change, now) {
    const unavailable = await userUnavailable(db, change.userId);
    if (unavailable) return unavailable;
    const locationIds = uniq(change.locationIds);
    const found = await db.selectFrom('locations').select('id').where('id', 'in', locationIds).execute();
    if (found.length !== locationIds.length) return 'one of the locations does not exist';
    if (change.expiresAt != null && change.expiresAt <= now) return 'the grant would already have expired';
    return isGroupGrant(change) ? groupProblem(db, change) : null;
  },
  async summary(db, change) {
    const locations = await db.selectFrom('locations').select(['id', 'name']).where('id', 'in', uniq(change.locationIds)).orderBy('id').execute();
    const where = locations.map((l) => `${l.name} (${l.id})`).join(', ');
    const until = change.expiresAt == null ? 'with no end date' : `until ${new Date(change.expiresAt).toISOString()}`;
    const who = await userLabel(db, change.userId);
    if (isGroupGrant(change)) {
      const group = await findGroup(db, { id: change.groupId });
      if (!group) return `Grant a group that no longer exists to ${who}.`;
      const denies = group.denials.length > 0 ? `, denying ${group.denials.join(', ')}` : '';
      return `Grant the group "${group.name}" (version ${group.version}) to ${who} at ${where}, ${until}: it allows ${group.permissions.join(', ')}${denies}.`;
    }
    return `Grant the ${change.role} role to ${who} at ${where}, ${until}: `
      + `${roleTemplates[change.role].permissions.length} permissions, among them ${change.role === 'admin' ? 'every permission of the catalogue' : 'grant.manage, audit.read, approval.decide and the exports'}.`;
  },
  async apply({ trx, requester, requesterProfile, approvalId, now }, change) {
    // The grant is the requester's, checked again against their access as it is now.
    const granter = { kind: 'user' as const, actor: requester, profile: requesterProfile };
    const base = { userId: change.userId, locationIds: uniq(change.locationIds), expiresAt: change.expiresAt ?? null };
    const grant = isGroupGrant(change)
      ? await applyGrantCreate(trx, granter, { ...base, groupId: change.groupId }, now, { groupVersion: change.groupVersion })
      : await applyGrantCreate(trx, granter, { ...base, role: change.role }, now);
    return { grantId: grant.id, approvalId };
  },
};
