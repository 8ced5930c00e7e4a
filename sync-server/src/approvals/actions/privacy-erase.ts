import type { PrivacyEraseChange } from '@depotline/shared';
import { checkPermission } from '../../access/authorize';
import type { Db } from '../../db/database';
import { erasePrivacyRequest } from '../../privacy/request-erasure';
import { locationIdsOf } from '../../privacy/requests';
import type { SensitiveActionHandler } from '../action';

/**
 * `privacy.erase`: the erasure of a data subject request's customer that deletes stops or destroys
 * proofs of delivery (privacy/erasure-approval.ts). The requester needs `privacy.manage` at every
 * location of the request; so does the approver (`handsOut`), besides `approval.decide`, and never
 * the requester. At approval the request must still be an open erasure that knows its customer; the
 * customer is then found again and holds read again, and the erasure runs in the decision's
 * transaction, its evidence naming this approval. Desktops are told once it has committed.
 */

const loadRequest = (db: Db, change: PrivacyEraseChange) =>
  db.selectFrom('privacy_requests').select(['id', 'kind', 'law', 'status', 'location_ids', 'subject_enc', 'received_at']).where('id', '=', change.requestId).executeTakeFirst();

export const privacyErase: SensitiveActionHandler<'privacy.erase'> = {
  async touches(db, change) {
    const r = await loadRequest(db, change);
    return r ? locationIdsOf(r) : [];
  },
  handsOut: () => Promise.resolve(['privacy.manage']),
  subjectUserId: () => null,
  async mayRequest(db, requester, change, now) {
    const r = await loadRequest(db, change);
    if (!r) return 'the privacy request does not exist';
    const lacking = locationIdsOf(r).find((l) => !checkPermission(requester.profile, { permission: 'privacy.manage', locationId: l }, now));
    return lacking === undefined ? null : `they lack privacy.manage at ${lacking}`;
  },
  async check(db, change) {
    const r = await loadRequest(db, change);
    if (!r) return 'the privacy request no longer exists';
    if (r.kind !== 'erasure') return 'the privacy request is not an erasure request';
    if (r.status !== 'open') return 'the privacy request was closed';
    return r.subject_enc === null ? 'the privacy request no longer names its customer' : null;
  },
  async summary(db, change) {
    const r = await loadRequest(db, change);
    if (!r) return 'Erase the customer of a privacy request that no longer exists.';
    const what = change.mode === 'delete'
      ? 'their stops are deleted with their delivery records'
      : 'their stops lose the customer\u2019s name, address, phone, email and notes (status, times and order reference stay)';
    return `Erase the customer of ${r.law.toUpperCase()} erasure request ${r.id} at ${locationIdsOf(r).join(', ')}: ${what}, and their proofs of delivery are`
      + ' destroyed for good (keys destroyed: no copy or backup can be read again); tracking links, undelivered webhook messages, consents and sharing flags go.'
      + ' The customer is found again by their phone and email when this is approved; stops under a legal hold then are kept.';
  },
  async apply({ ctx, trx, requester, approvalId, now, afterCommit, live }, change) {
    const call = { ctx, db: trx, actor: requester, now, audit: () => undefined, manages: null };
    const { result, touched } = await erasePrivacyRequest(call, change.requestId, { mode: change.mode }, { db: trx, transaction: (work) => work(trx), afterCommit, approvalId, secondPerson: true });
    if (live) afterCommit(() => live.publish(touched));
    return {
      requestId: change.requestId, mode: change.mode, stopsFound: result.stopsFound, stopsErased: result.stopsErased, stopsHeld: result.held.stops,
      proofsDestroyed: result.proofsDestroyed, completed: result.request.status === 'closed',
    };
  },
};
