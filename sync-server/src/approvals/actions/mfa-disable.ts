import { factorsHeld, removeSecondFactors } from '../../auth/factor-reset';
import type { SensitiveActionHandler } from '../action';
import { locationsOfUser, mayAskAboutFactors, userLabel, userUnavailable } from './users-reached';

/** `user.mfaDisable`: the user's authenticator app goes; their next sign-in enrolls one if policy asks. */
export const mfaDisable: SensitiveActionHandler<'user.mfaDisable'> = {
  touches: (db, change, now) => locationsOfUser(db, change.userId, now),
  handsOut: () => Promise.resolve([]),
  subjectUserId: (change) => change.userId,
  mayRequest: (db, requester, change, now) => mayAskAboutFactors(db, requester, change.userId, now),
  async check(db, change) {
    const unavailable = await userUnavailable(db, change.userId);
    if (unavailable) return unavailable;
    return (await factorsHeld(db, change.userId)).totp ? null : 'the user has no authenticator app set up';
  },
  summary: async (db, change) =>
    `Remove the authenticator app of ${await userLabel(db, change.userId)}. Their security keys and recovery codes stay; at the next sign-in they set up a new authenticator if their role requires one.`,
  async apply({ trx, requester, approvalId, now }, change) {
    const removed = await removeSecondFactors(trx, requester, change.userId, ['totp'], now, { approvalId });
    return { userId: change.userId, removed };
  },
};
