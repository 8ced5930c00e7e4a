import type { PrivacyRectifyBody, PrivacyRectifyResult } from '@depotline/shared';
import type { Touched } from '../sync/mutations/handler';
import { rectifyCustomer } from './rectification';
import {
  auditRequestStep, loadPrivacyRequest, locationIdsOf, type PrivacyCall, presentPrivacyRequest, requireOpen, requireSubject, subjectLookup,
  updatePrivacyRequest,
} from './requests';

/**
 * Rectification under a data subject request (GDPR Art. 16): the corrected values go to every stop
 * of the customer at the request's locations through the customer rectification (privacy/
 * rectification.ts: versioned changes, so desktops update; audited without values). The request
 * then knows the customer by the corrected identifiers, so later steps still find them.
 */
export async function rectifyPrivacyRequest(call: PrivacyCall, id: string, body: PrivacyRectifyBody): Promise<{ result: PrivacyRectifyResult; touched: Touched[] }> {
  const { ctx, now } = call;
  const row = await loadPrivacyRequest(call, id, 'privacy.request.rectify');
  requireOpen(row, ['rectification'], 'a rectification');
  const subject = requireSubject(ctx, row);
  const { result: rectified, touched } = await rectifyCustomer(ctx, call.actor, {
    customer: subjectLookup(subject), locationIds: locationIdsOf(row), changes: body,
  }, { requestId: row.id });
  const corrected = {
    customerName: body.customerName ?? subject.customerName,
    phone: body.phone === undefined ? subject.phone : body.phone,
    email: body.email === undefined ? subject.email : body.email,
  };
  const counts = { stopsFound: rectified.changed.length + rectified.skipped.length, stopsChanged: rectified.changed.length, stopsSkipped: rectified.skipped.length };
  const next = await ctx.db.transaction().execute(async (trx) => {
    const tcall = { ...call, db: trx };
    const current = await loadPrivacyRequest(tcall, id, 'privacy.request.rectify');
    // A correction that removes both the phone and the email leaves the request with the old ones, to still find the customer.
    const kept = corrected.phone !== null || corrected.email !== null ? corrected : subject;
    const updated = await updatePrivacyRequest(tcall, current, { action: { action: 'rectify', at: now, by: call.actor.label, counts }, subject: kept });
    await auditRequestStep(tcall, current, 'privacy.request.rectify', { ...counts, fields: Object.keys(body) });
    return updated;
  });
  const summary = counts.stopsFound === 0
    ? 'No stop of this customer was found at the request\'s locations: nothing was changed. Check the phone and email of the request.'
    : `${counts.stopsChanged} stop${counts.stopsChanged === 1 ? '' : 's'} corrected${counts.stopsSkipped > 0 ? `, ${counts.stopsSkipped} left as they were (pseudonymised already)` : ''}.`;
  return { result: { request: presentPrivacyRequest(ctx, next, now), ...counts, summary }, touched };
}
