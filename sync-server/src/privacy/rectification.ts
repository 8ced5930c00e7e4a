import type { CustomerRectified, CustomerRectify } from '@depotline/shared';
import { type AuditActor, appendAuditEntries, type AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { AppError } from '../errors';
import { recordChange } from '../sync/change-log';
import type { Touched } from '../sync/mutations/handler';
import { encryptStopPii } from '../sync/stop-pii';
import { type CustomerLookup, findCustomerStops } from './customers';

/**
 * Rectification (GDPR Art. 16): the corrected name, address, phone or email goes to every stop
 * of the customer at the locations given, each as a versioned change with a change-log entry,
 * so desktops receive it like any other edit. The new phone and email get their blind index with
 * the value (stop-pii.ts). Audited per location with the fields and the count, never a value.
 */

export interface RectifyInput {
  customer: CustomerLookup;
  locationIds: readonly string[];
  changes: CustomerRectify['changes'];
}

export async function rectifyCustomer(
  ctx: ServerContext, actor: AuditActor, input: RectifyInput, context: { requestId?: string } = {},
): Promise<{ result: CustomerRectified; touched: Touched[] }> {
  const fields = Object.keys(input.changes).sort();
  if (fields.length === 0) throw new AppError('bad_request', 400, 'Give at least one corrected value.', { issues: ['changes: empty'] });
  const now = ctx.now();
  return ctx.db.transaction().execute(async (trx) => {
    const found = await findCustomerStops(ctx, input.customer, input.locationIds, { db: trx });
    const { customerName, address, phone, email } = input.changes;
    const touched: Touched[] = [];
    const skipped: string[] = [];
    const perLocation = new Map<string, number>();
    for (const { row } of found) {
      // A pseudonymised stop carries no index and is not found; one erased meanwhile is left alone.
      if (row.pseudonymised_at !== null) {
        skipped.push(row.id);
        continue;
      }
      const version = await recordChange(trx, row.location_id, 'stop', row.id, now);
      await trx.updateTable('stops')
        .set({ ...encryptStopPii(ctx, row.id, { customerName, address, phone, email }), version, updated_at: now, updated_by: actor.label })
        .where('id', '=', row.id).execute();
      touched.push({ entity: 'stop', id: row.id, locationId: row.location_id });
      perLocation.set(row.location_id, (perLocation.get(row.location_id) ?? 0) + 1);
    }
    const audits: { actor: AuditActor; event: AuditEvent }[] = [...perLocation].map(([locationId, stops]) => ({
      actor,
      event: {
        action: 'privacy.rectify', outcome: 'ok', targetType: 'customer', locationId,
        details: { fields, stops, ...(context.requestId !== undefined ? { requestId: context.requestId } : {}) },
      },
    }));
    if (audits.length === 0) {
      audits.push({ actor, event: { action: 'privacy.rectify', outcome: 'ok', targetType: 'customer', details: { fields, stops: 0, ...(context.requestId !== undefined ? { requestId: context.requestId } : {}) } } });
    }
    await appendAuditEntries(trx, audits, now);
    return { result: { changed: touched.map((t) => t.id), skipped }, touched };
  });
}
