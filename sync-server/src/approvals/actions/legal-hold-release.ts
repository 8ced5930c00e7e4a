import { checkPermission } from '../../access/authorize';
import { holdInWords, loadLegalHold, releaseLegalHold } from '../../retention/legal-holds';
import type { SensitiveActionHandler } from '../action';

/**
 * `legalHold.release`: a legal hold ends, so purge and erasure reach what it kept. Never by one
 * person alone, the one who placed it included: the requester and the approver both need
 * `legalHold.manage` at the hold's location (the approver `approval.decide` as well).
 */
export const legalHoldRelease: SensitiveActionHandler<'legalHold.release'> = {
  async touches(db, change) {
    const hold = await loadLegalHold(db, change.holdId);
    return hold ? [hold.location_id] : [];
  },
  handsOut: () => Promise.resolve(['legalHold.manage']),
  subjectUserId: () => null,
  async mayRequest(db, requester, change, now) {
    const hold = await loadLegalHold(db, change.holdId);
    if (!hold) return 'the legal hold does not exist';
    return checkPermission(requester.profile, { permission: 'legalHold.manage', locationId: hold.location_id }, now)
      ? null : `they lack legalHold.manage at ${hold.location_id}`;
  },
  async check(db, change) {
    const hold = await loadLegalHold(db, change.holdId);
    if (!hold) return 'the legal hold no longer exists';
    return hold.released_at !== null ? 'the legal hold was released already' : null;
  },
  async summary(db, change) {
    const hold = await loadLegalHold(db, change.holdId);
    if (!hold) return 'Release a legal hold that no longer exists.';
    return `Release ${holdInWords(hold)}. Its reason was: "${hold.reason}". Once released, purge and erasure reach what it kept.`;
  },
  async apply({ ctx, trx, requester, approvalId, now, afterCommit, live }, change) {
    // The stops it covered reach connected consoles, no longer held, once the decision committed.
    const released = await releaseLegalHold(trx, requester, change, now, approvalId, (touched) => {
      if (live && touched.length > 0) afterCommit(() => live.publish(touched).catch((err: unknown) => ctx.log.error('live feed failed after a legal hold release', { err: String(err) })));
    });
    return { holdId: change.holdId, released };
  },
};
