import crypto from 'node:crypto';
import {
  type ApprovalRequest, type LegalHold, type LegalHoldCreate, type LocationRetentionUpdate, type LocationRetentionView,
  locationRetentionClasses, retentionDaysField,
} from '@depotline/shared';
import type { ApprovalRequester } from '../approvals/action';
import { requestApproval } from '../approvals/requests';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { badRequest, notFound } from '../errors';
import { emailKey, phoneKey } from '../privacy/blind-index';
import type { LiveFeed } from '../sync/mutations/handler';
import { presentLegalHold } from './holds';
import { restampCoveredStops } from './legal-holds';
import { planRetentionChange, storeLocationRetention } from './periods';
import { effectiveRetention, globalRetention, locationOverrides } from './policy';

/**
 * What the REST endpoints and the CLI do with retention periods and legal holds, given a caller
 * already authorised at the location (docs/api.md, "Retention and legal holds").
 */

async function requireLocation(db: Db, locationId: string): Promise<void> {
  if (!(await db.selectFrom('locations').select('id').where('id', '=', locationId).executeTakeFirst())) throw notFound('The location');
}

export async function locationRetentionView(ctx: ServerContext, locationId: string): Promise<LocationRetentionView> {
  await requireLocation(ctx.db, locationId);
  return {
    locationId,
    effective: await effectiveRetention(ctx, locationId),
    overrides: await locationOverrides(ctx.db, locationId),
    maxDays: globalRetention(ctx.config).maxDays,
  };
}

export interface RetentionUpdateOutcome {
  /** The periods after the change (a widening not yet approved is not in them). */
  retention: LocationRetentionView;
  /** The request for the widening part, waiting for a second person; null when nothing widened. */
  approval: ApprovalRequest | null;
}

/**
 * Changes a location's periods. Narrowing (or restating) applies at once, audited
 * `retention.set`; widening goes into one `retention.widen` request, which needs `reason`.
 * `requester` null: the operator at the command line, trusted like an approver, applies widening
 * at once (audited as such).
 */
export async function updateLocationRetention(
  ctx: ServerContext, actor: AuditActor, requester: ApprovalRequester | null, locationId: string, update: LocationRetentionUpdate,
): Promise<RetentionUpdateOutcome> {
  await requireLocation(ctx.db, locationId);
  const { reason, ...days } = update;
  if (!locationRetentionClasses.some((c) => days[retentionDaysField[c]] !== undefined)) throw badRequest(['name at least one period (contactDays, deliveryDays, proofDays, trackingLinkDays, positionHistoryDays)']);
  const { plan, overMax } = await planRetentionChange(ctx, locationId, days);
  if (overMax.length > 0) throw badRequest(overMax);
  const widens = Object.keys(plan.widen).length > 0;
  if (widens && requester && reason === undefined) {
    throw badRequest(['reason: keeping data longer needs a second person\u2019s approval, and the approver is told why']);
  }
  const now = ctx.now();
  const applyNow = requester ? plan.narrow : { ...plan.narrow, ...plan.widen };
  if (Object.keys(applyNow).length > 0) {
    await ctx.db.transaction().execute((trx) => storeLocationRetention(trx, actor, locationId, plan.current, applyNow, now));
  }
  const approval = widens && requester
    ? await requestApproval(ctx, requester, { kind: 'retention.widen', change: { locationId, days: plan.widen }, reason })
    : null;
  return { retention: await locationRetentionView(ctx, locationId), approval };
}

/** The blind index a customer hold is keyed on; a contact that does not parse is bad input. */
function customerKeyOf(ctx: ServerContext, body: Extract<LegalHoldCreate, { scope: 'customer' }>): string {
  const key = body.phone !== undefined ? phoneKey(ctx, body.phone) : emailKey(ctx, body.email ?? '');
  if (key === null) throw badRequest([body.phone !== undefined ? 'phone: not a phone number' : 'email: not an email address']);
  return key;
}

/**
 * Places a hold. What it covers must exist: the stop at this location, or at least one stop of the
 * customer here (found by the blind index); otherwise `not_found`, and nothing is stored.
 * Audited `legalHold.place` with the scope and stop, never the reason, owner or customer.
 */
export async function placeLegalHold(ctx: ServerContext, actor: AuditActor, locationId: string, body: LegalHoldCreate, live: LiveFeed | null = null): Promise<LegalHold> {
  await requireLocation(ctx.db, locationId);
  let stopId: string | null = null;
  let customerKey: string | null = null;
  if (body.scope === 'stop') {
    const stop = await ctx.db.selectFrom('stops').select('id').where('id', '=', body.stopId).where('location_id', '=', locationId).executeTakeFirst();
    if (!stop) throw notFound('The stop at this location');
    stopId = stop.id;
  } else if (body.scope === 'customer') {
    customerKey = customerKeyOf(ctx, body);
    const key = customerKey;
    const any = await ctx.db.selectFrom('stops').select('id').where('location_id', '=', locationId)
      .where((eb) => eb.or([eb('phone_bidx', '=', key), eb('email_bidx', '=', key)])).limit(1).executeTakeFirst();
    if (!any) throw notFound('A stop of that customer at this location');
  }
  const now = ctx.now();
  const row = {
    id: crypto.randomUUID(), scope: body.scope, location_id: locationId, stop_id: stopId, customer_key: customerKey,
    reason: body.reason, owner: body.owner, placed_by: actor.label, placed_at: now,
    released_at: null, released_by: null, release_reason: null,
  };
  const touched = await ctx.db.transaction().execute(async (trx) => {
    await trx.insertInto('legal_holds').values(row).execute();
    await appendAudit(trx, actor, {
      action: 'legalHold.place', outcome: 'ok', targetType: 'legal_hold', targetId: row.id, locationId,
      details: { scope: row.scope, ...(stopId ? { stopId } : {}) },
    }, now);
    return restampCoveredStops(trx, row, now);
  });
  // The covered stops, now `held`, reach connected consoles at once (the CLI has no live feed: at their next pull).
  live?.publish(touched).catch((err: unknown) => ctx.log.error('live feed failed after a legal hold', { err: String(err) }));
  return presentLegalHold(row);
}
