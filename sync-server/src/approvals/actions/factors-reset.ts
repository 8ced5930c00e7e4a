import { factorsHeld, removeSecondFactors } from '../../auth/factor-reset';
import type { SensitiveActionHandler } from '../action';
import { locationsOfUser, mayAskAboutFactors, userLabel, userUnavailable } from './users-reached';

const factorWords = { totp: 'authenticator app', recoveryCodes: 'recovery codes', securityKeys: 'security keys' } as const;

/** `user.factorsReset`: the named second factors of a user go (an admin who lost their devices, say). */
export const factorsReset: SensitiveActionHandler<'user.factorsReset'> = {
  touches: (db, change, now) => locationsOfUser(db, change.userId, now),
  handsOut: () => Promise.resolve([]),
  subjectUserId: (change) => change.userId,
  mayRequest: (db, requester, change, now) => mayAskAboutFactors(db, requester, change.userId, now),
  async check(db, change) {
    const unavailable = await userUnavailable(db, change.userId);
    if (unavailable) return unavailable;
    const held = await factorsHeld(db, change.userId);
    return change.factors.some((f) => held[f]) ? null : `the user has none of these factors (${change.factors.map((f) => factorWords[f]).join(', ')})`;
  },
  async summary(db, change) {
    const admin = await db.selectFrom('grants').select('id').where('user_id', '=', change.userId).where('role', '=', 'admin')
      .where('revoked_at', 'is', null).limit(1).execute();
    return `Remove the ${change.factors.map((f) => factorWords[f]).join(', ')} of ${await userLabel(db, change.userId)}${admin.length > 0 ? ', who holds the admin role' : ''}. `
      + 'They are told (a factor_removed alert); at the next sign-in they set up what their role requires.';
  },
  async apply({ trx, requester, approvalId, now }, change) {
    const removed = await removeSecondFactors(trx, requester, change.userId, change.factors, now, { approvalId });
    return { userId: change.userId, removed };
  },
};
