import { checkPermission } from '../../access/authorize';
import { conflict } from '../../errors';
import { changeInWords, planRetentionChange, storeLocationRetention } from '../../retention/periods';
import type { SensitiveActionHandler } from '../action';

/**
 * `retention.widen`: a location keeps customer or delivery data longer than it does now (a
 * period raised above its current effective value, never above the server's maximum). The
 * requester needs `retention.manage` at the location; so does the approver (`handsOut`), besides
 * `approval.decide`. At approval, a period that is no longer a widening (someone narrowed or the
 * operator lowered the maximum since) makes the request stale or refused.
 */
export const retentionWiden: SensitiveActionHandler<'retention.widen'> = {
  touches: (_db, change) => Promise.resolve([change.locationId]),
  handsOut: () => Promise.resolve(['retention.manage']),
  subjectUserId: () => null,
  async mayRequest(db, requester, change, now) {
    if (!(await db.selectFrom('locations').select('id').where('id', '=', change.locationId).executeTakeFirst())) return 'the location does not exist';
    return checkPermission(requester.profile, { permission: 'retention.manage', locationId: change.locationId }, now)
      ? null : `they lack retention.manage at ${change.locationId}`;
  },
  async check(db, change) {
    return (await db.selectFrom('locations').select('id').where('id', '=', change.locationId).executeTakeFirst()) ? null : 'the location no longer exists';
  },
  summary: (_db, change) => Promise.resolve(
    `Keep data at ${change.locationId} longer: ${Object.entries(change.days).map(([f, d]) => `${f} to ${d} days`).join(', ')}. `
    + 'Records that would have been purged under the shorter period are kept until the new one ends.',
  ),
  async apply({ ctx, trx, requester, approvalId, now }, change) {
    const { plan, overMax } = await planRetentionChange({ config: ctx.config, db: trx }, change.locationId, change.days);
    if (overMax.length > 0) throw conflict(`The change is no longer allowed: ${overMax.join('; ')}.`);
    const days = { ...plan.narrow, ...plan.widen };
    await storeLocationRetention(trx, requester, change.locationId, plan.current, days, now, approvalId);
    return { locationId: change.locationId, periods: changeInWords(plan.current, days) };
  },
};
