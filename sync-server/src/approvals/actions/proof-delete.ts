import { checkPermission } from '../../access/authorize';
import { destroyProof, proofWithCopies } from '../../proofs/deletion';
import { loadProof } from '../../proofs/records';
import type { SensitiveActionHandler } from '../action';

/**
 * `pod.delete`: a proof of delivery is destroyed for good (proofs/deletion.ts): its data key goes,
 * with the keys of the redacted copies made from it unless the request keeps them. The requester needs `pod.delete` at the
 * proof's location; so does the approver (`handsOut`), besides `approval.decide`: two people
 * who may each delete proof agree on it.
 */
export const proofDelete: SensitiveActionHandler<'pod.delete'> = {
  async touches(db, change) {
    const proof = await loadProof(db, change.proofId);
    return proof ? [proof.location_id] : [];
  },
  handsOut: () => Promise.resolve(['pod.delete']),
  subjectUserId: () => null,
  async mayRequest(db, requester, change, now) {
    const proof = await loadProof(db, change.proofId);
    if (!proof) return 'the proof does not exist';
    return checkPermission(requester.profile, { permission: 'pod.delete', locationId: proof.location_id }, now)
      ? null : `they lack pod.delete at ${proof.location_id}`;
  },
  async check(db, change) {
    const proof = await loadProof(db, change.proofId);
    if (!proof) return 'the proof no longer exists';
    return proof.deleted_at !== null ? 'the proof was deleted already' : null;
  },
  async summary(db, change) {
    const proof = await loadProof(db, change.proofId);
    if (!proof) return 'Delete a proof of delivery that no longer exists.';
    const copies = (await proofWithCopies(db, proof)).length - 1;
    const when = new Date(Number(proof.server_time)).toISOString();
    const copyWords = `${copies} redacted ${copies === 1 ? 'copy' : 'copies'} made from it`;
    return `Delete the ${proof.kind} proof ${proof.id} of stop ${proof.stop_id} at ${proof.location_id}, recorded by ${proof.captured_by_label} at ${when}`
      + `${copies === 0 ? '' : change.keepCopies ? `; the ${copyWords} ${copies === 1 ? 'stays' : 'stay'}` : `, with the ${copyWords}`}.`
      + ' Its key is destroyed: the file can never be read again, from any copy or backup. The record that it existed stays.';
  },
  async apply({ ctx, trx, requester, approvalId, now }, change) {
    const { destroyed } = await destroyProof(ctx, trx, requester, change, now, approvalId);
    return { proofId: change.proofId, destroyed };
  },
};
