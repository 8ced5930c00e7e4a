import { roleTemplates } from '@depotline/shared';
import { viewAt } from '../../access/access-profile';
import { applyGrantCreate } from '../../access/grants';
import type { SensitiveActionHandler } from '../action';
import { userLabel, userUnavailable } from './users-reached';

/**
 * `grant.privileged`: a grant of admin or manager. The requester must be able to grant the role
 * at every named location (grant.manage and a role whose `mayGrant` lists it), exactly as for
 * any grant; the approver must hold every permission of the role there.
 */
export const privilegedGrant: SensitiveActionHandler<'grant.privileged'> = {
  touches: (_db, change) => Promise.resolve([...new Set(change.locationIds)].sort()),
  handsOut: (_db, change) => Promise.resolve([...roleTemplates[change.role].permissions]),
  subjectUserId: (change) => change.userId,
  mayRequest(_db, requester, change, now) {
    for (const locationId of new Set(change.locationIds)) {
      const view = viewAt(requester.profile, locationId, now);
      const allowed = view !== null && view.general.has('grant.manage') && [...view.roles].some((r) => roleTemplates[r].mayGrant.includes(change.role));
      if (!allowed) return Promise.resolve(`they cannot grant ${change.role} at ${locationId}`);
    }
    return Promise.resolve(null);
  },
  async check(db, change, now) {
    const unavailable = await userUnavailable(db, change.userId);
    if (unavailable) return unavailable;
    const locationIds = [...new Set(change.locationIds)];
    const found = await db.selectFrom('locations').select('id').where('id', 'in', locationIds).execute();
    if (found.length !== locationIds.length) return 'one of the locations does not exist';
    if (change.expiresAt != null && change.expiresAt <= now) return 'the grant would already have expired';
    return null;
  },
  async summary(db, change) {
    const locations = await db.selectFrom('locations').select(['id', 'name']).where('id', 'in', [...new Set(change.locationIds)]).orderBy('id').execute();
    const where = locations.map((l) => `${l.name} (${l.id})`).join(', ');
    const until = change.expiresAt == null ? 'with no end date' : `until ${new Date(change.expiresAt).toISOString()}`;
    return `Grant the ${change.role} role to ${await userLabel(db, change.userId)} at ${where}, ${until}: `
      + `${roleTemplates[change.role].permissions.length} permissions, among them ${change.role === 'admin' ? 'every permission of the catalogue' : 'grant.manage, audit.read, approval.decide and the exports'}.`;
  },
  async apply({ trx, requester, requesterProfile, approvalId, now }, change) {
    // The grant is the requester's, checked again against their access as it is now.
    const granter = { kind: 'user' as const, actor: requester, profile: requesterProfile };
    const grant = await applyGrantCreate(trx, granter, { userId: change.userId, role: change.role, locationIds: [...new Set(change.locationIds)], expiresAt: change.expiresAt ?? null }, now);
    return { grantId: grant.id, approvalId };
  },
};
