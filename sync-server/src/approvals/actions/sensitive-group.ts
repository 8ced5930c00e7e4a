import { groupChangeWidens, type Permission, type SensitiveGroupChange } from '@depotline/shared';
import { AccessRefused, missingAuthority } from '../../access/authority';
import { findGroup, type GroupRecord, shapeOf } from '../../access/group-records';
import { applyGroupCreate, applyGroupUpdate, groupAfterUpdate, requireGroupUpdateAuthority } from '../../access/groups';
import type { Db } from '../../db/database';
import type { SensitiveActionHandler } from '../action';

const uniq = <T>(xs: readonly T[]) => [...new Set(xs)].sort();

/** The group before and after the change (before: null for a new group, or when the group is gone). */
async function plan(db: Db, change: SensitiveGroupChange): Promise<{ before: GroupRecord | null; after: Pick<GroupRecord, 'name' | 'permissions' | 'denials' | 'locationIds' | 'mfaRequired' | 'mustExpire'> | null }> {
  if (change.op === 'create') {
    const g = change.group;
    return { before: null, after: { name: g.name, permissions: uniq(g.permissions), denials: uniq(g.denials), locationIds: uniq(g.locationIds), mfaRequired: g.mfaRequired, mustExpire: g.mustExpire } };
  }
  const before = await findGroup(db, { id: change.groupId });
  return { before, after: before ? groupAfterUpdate(before, change.update) : null };
}

async function touchedAndHandedOut(db: Db, change: SensitiveGroupChange): Promise<{ touches: string[]; handsOut: Permission[] }> {
  const { before, after } = await plan(db, change);
  if (!after) return { touches: [], handsOut: [] };
  const widening = groupChangeWidens(before ? shapeOf(before) : null, after);
  // What access/groups.ts asks of whoever makes the change directly: every location of the scope
  // before and after, every permission the group allows and every denial the change removes.
  return { touches: uniq([...(before?.locationIds ?? []), ...after.locationIds]), handsOut: uniq<Permission>([...after.permissions, ...widening.removedDenials]) };
}

/**
 * `group.sensitive`: creating, or widening, a group that allows a sensitive permission
 * (`groupChangeNeedsApproval` in shared/), or adding to a granted group a denial of a sensitive
 * permission one of its holders has (`groupUpdateNeedsSecondPerson` in access/groups.ts). The requester must be able to make
 * the change themselves; the approver must hold everything it hands out at every location of
 * its scope. An update names the group's version: if the group changed since, it is stale.
 */
export const sensitiveGroup: SensitiveActionHandler<'group.sensitive'> = {
  touches: async (db, change) => (await touchedAndHandedOut(db, change)).touches,
  handsOut: async (db, change) => (await touchedAndHandedOut(db, change)).handsOut,
  subjectUserId: () => null,
  async mayRequest(db, requester, change, now) {
    const granter = { kind: 'user' as const, actor: requester.actor, profile: requester.profile };
    const { before } = await plan(db, change);
    if (change.op === 'update' && before) {
      // What the direct path asks (access/groups.ts), narrowing the group's holders included.
      try {
        await requireGroupUpdateAuthority(db, granter, before, groupAfterUpdate(before, change.update), now);
        return null;
      } catch (err) {
        if (err instanceof AccessRefused) return `they lack ${err.request.permission} at ${err.request.locationId}`;
        throw err;
      }
    }
    const { touches, handsOut } = await touchedAndHandedOut(db, change);
    const missing = missingAuthority(granter, touches, 'group.manage', handsOut, now);
    return missing ? `they lack ${missing.permission} at ${missing.locationId}` : null;
  },
  async check(db, change) {
    if (change.op === 'create') {
      const taken = await db.selectFrom('permission_groups').select('id').where('name', '=', change.group.name).executeTakeFirst();
      return taken ? `a group named "${change.group.name}" exists now` : null;
    }
    const group = await findGroup(db, { id: change.groupId });
    if (!group) return 'the group no longer exists';
    if (group.retiredAt !== null) return 'the group was retired';
    return group.version !== change.version ? `the group changed since the request (version ${change.version}, now ${group.version})` : null;
  },
  async summary(db, change) {
    const { before, after } = await plan(db, change);
    if (!after) return 'Change a group that no longer exists.';
    const list = (xs: readonly string[]) => (xs.length > 0 ? xs.join(', ') : 'nothing');
    if (!before) {
      return `Create the group "${after.name}" allowing ${list(after.permissions)}${after.denials.length > 0 ? `, denying ${list(after.denials)}` : ''}, `
        + `grantable at ${list(after.locationIds)}${after.mfaRequired ? '' : ', without requiring a second factor'}.`;
    }
    const w = groupChangeWidens(shapeOf(before), after);
    const addedDenials = after.denials.filter((p) => !before.denials.includes(p));
    const parts = [
      w.addedPermissions.length > 0 ? `allow ${list(w.addedPermissions)}` : null,
      w.removedDenials.length > 0 ? `stop denying ${list(w.removedDenials)}` : null,
      addedDenials.length > 0 ? `deny its holders ${list(addedDenials)}` : null,
      w.addedLocationIds.length > 0 ? `make it grantable at ${list(w.addedLocationIds)}` : null,
      w.mfaRelaxed ? 'stop requiring a second factor' : null,
      w.expiryRelaxed ? 'stop requiring an expiry' : null,
    ].filter((p): p is string => p !== null);
    return `Change the group "${before.name}" (version ${before.version}): ${parts.join('; ') || 'no widening'}. Afterwards it allows ${list(after.permissions)} at ${list(after.locationIds)}.`;
  },
  async apply({ trx, requester, requesterProfile, approvalId, now }, change) {
    const granter = { kind: 'user' as const, actor: requester, profile: requesterProfile };
    if (change.op === 'create') {
      const group = await applyGroupCreate(trx, granter, change.group, now);
      return { groupId: group.id, version: group.version, approvalId };
    }
    const { after } = await applyGroupUpdate(trx, granter, change.groupId, { ...change.update, expectedVersion: change.version }, now);
    return { groupId: after.id, version: after.version, approvalId };
  },
};
