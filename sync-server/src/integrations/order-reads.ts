import type {
  FailureReason, IntegrationStopView, OrderChanges, OrderHistory, OrderVisibility, ProfileField, StopStatus,
} from '@depotline/shared';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { badRequest, notFound } from '../errors';
import { presentStop, type StopRow } from '../sync/presenters';
import { presentStopForIntegration, type StopSharing } from './profile-filter';
import { sharingFor, sharingOf } from './sharing';

/**
 * What an integration reads about orders at a location it holds `status.read` or `orders.read`
 * at: one order by its reference, its status history, and the orders changed since a cursor.
 * Every stop goes out through `presentStopForIntegration`, the one filter of what an integration
 * receives; a history entry is a stop at that moment put through the same filter.
 *
 * Which orders: with `orderVisibility` `own` (the default), only those the integration created
 * itself (`integration_orders`); another order at the location does not exist for it (404, and
 * never in its changes). With `location`, every order at the location (a courier partner).
 */

/** Who reads: the integration and which orders it sees. */
export interface OrderReader {
  id: string;
  /** Its kind: a courier is needed to deliver every order it sees (integrations/sharing.ts). */
  kind: string;
  orderVisibility: OrderVisibility;
}

/** The stop ids among `stopIds` the reader may see. */
async function visibleStopIds(db: Db, reader: OrderReader, stopIds: readonly string[]): Promise<Set<string>> {
  if (reader.orderVisibility === 'location') return new Set(stopIds);
  const seen = new Set<string>();
  for (let i = 0; i < stopIds.length; i += 500) {
    const rows = await db.selectFrom('integration_orders').select('stop_id')
      .where('integration_id', '=', reader.id).where('stop_id', 'in', stopIds.slice(i, i + 500)).execute();
    for (const r of rows) seen.add(r.stop_id);
  }
  return seen;
}

export const viewFor = (ctx: ServerContext, profile: readonly ProfileField[], row: StopRow, sharing: StopSharing): IntegrationStopView =>
  presentStopForIntegration(profile, presentStop(ctx, row), sharing);

/** The stop carrying the order reference at the location, if the reader may see it. */
export async function orderStop(db: Db, reader: OrderReader, locationId: string, orderRef: string): Promise<StopRow> {
  let q = db.selectFrom('stops').selectAll('stops').where('stops.location_id', '=', locationId).where('stops.order_ref', '=', orderRef);
  if (reader.orderVisibility === 'own') {
    q = q.where('stops.id', 'in', db.selectFrom('integration_orders').select('stop_id').where('integration_id', '=', reader.id).where('location_id', '=', locationId));
  }
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('The order');
  return row;
}

/** Audit actions that set a stop's status, and how each names the new one. */
const statusOf: Readonly<Record<string, (details: Record<string, unknown>) => { status: StopStatus; failureReason: FailureReason | null } | null>> = {
  'stop.create': () => ({ status: 'planned', failureReason: null }),
  'stop.setStatus': (d) => {
    const to = (d['status'] as { to?: StopStatus } | undefined)?.to;
    return to ? { status: to, failureReason: to === 'failed' ? ((d['failureReason'] as FailureReason | undefined) ?? null) : null } : null;
  },
  'stop.cancel': () => ({ status: 'cancelled', failureReason: null }),
};

/**
 * The order's status history, oldest first: each status its audit entries record (created,
 * each status change, a cancellation), without who made it. A change the stop went through as
 * part of another record's change (its route cancelled) has no entry of its own: it shows as
 * the stop's current status at its last update.
 */
export async function orderHistory(
  ctx: ServerContext, db: Db, reader: OrderReader, profile: readonly ProfileField[], locationId: string, orderRef: string,
): Promise<OrderHistory> {
  const row = await orderStop(db, reader, locationId, orderRef);
  const stop = presentStop(ctx, row);
  const sharing = await sharingOf(db, reader, row);
  const entries = await db.selectFrom('audit_log').select(['at', 'action', 'details'])
    .where('target_type', '=', 'stop').where('target_id', '=', row.id).where('location_id', '=', locationId)
    .where('outcome', '=', 'ok').where('action', 'in', Object.keys(statusOf))
    .orderBy('seq').limit(1000).execute();
  const points: { at: number; status: StopStatus; failureReason: FailureReason | null }[] = [];
  for (const e of entries) {
    const point = statusOf[e.action]?.(JSON.parse(e.details) as Record<string, unknown>);
    if (point) points.push({ at: e.at, ...point });
  }
  const last = points[points.length - 1];
  if (!last || last.status !== stop.status) points.push({ at: stop.updatedAt, status: stop.status, failureReason: stop.failureReason });
  const history = points.map((p) => {
    const seen = presentStopForIntegration(profile, { ...stop, status: p.status, failureReason: p.failureReason }, sharing);
    return { at: p.at, ...(seen.status !== undefined ? { status: seen.status } : {}), ...(seen.failureReason !== undefined ? { failureReason: seen.failureReason } : {}) };
  });
  return { order: presentStopForIntegration(profile, stop, sharing), history };
}

/*
 * The cursor is the location's change-log version, wrapped so clients treat it as opaque (it may
 * become something else later). A forged one only moves the reader within its own location.
 */
const cursorPrefix = 'o1.';
export const encodeOrderCursor = (version: number) => cursorPrefix + Buffer.from(String(version)).toString('base64url');

export function decodeOrderCursor(cursor: string | undefined): number {
  if (cursor === undefined || cursor === '') return 0;
  const version = cursor.startsWith(cursorPrefix) ? Number(Buffer.from(cursor.slice(cursorPrefix.length), 'base64url').toString()) : NaN;
  if (!Number.isSafeInteger(version) || version < 0) throw badRequest(['cursor: not a cursor this API gave out; start without one']);
  return version;
}

/**
 * Orders (stops with an order reference) changed at the location after the cursor, in the order
 * of their latest change, each at its current state; `cursor` continues after the last change
 * read. Change-log entries of other records (and of orders the reader may not see) move the
 * cursor too, so a reader never reads them twice.
 */
export async function orderChanges(
  ctx: ServerContext, db: Db, reader: OrderReader, profile: readonly ProfileField[], locationId: string, cursor: string | undefined, limit: number,
): Promise<OrderChanges> {
  const after = decodeOrderCursor(cursor);
  const entries = await db.selectFrom('changes').select(['version', 'entity', 'entity_id'])
    .where('location_id', '=', locationId).where('version', '>', after)
    .orderBy('version').limit(limit + 1).execute();
  const hasMore = entries.length > limit;
  const page = hasMore ? entries.slice(0, limit) : entries;
  const stopIds = [...(await visibleStopIds(db, reader, [...new Set(page.filter((e) => e.entity === 'stop').map((e) => e.entity_id))]))];
  const rows = new Map<string, StopRow>();
  for (let i = 0; i < stopIds.length; i += 500) {
    for (const r of await db.selectFrom('stops').selectAll().where('id', 'in', stopIds.slice(i, i + 500)).execute()) rows.set(r.id, r);
  }
  const sharing = await sharingFor(db, reader, [...rows.values()]);
  const orders: IntegrationStopView[] = [];
  for (const e of page) {
    const row = e.entity === 'stop' ? rows.get(e.entity_id) : undefined;
    // An entry older than the stop's version: a later entry carries the stop, so it is sent once, at its latest.
    if (!row || row.location_id !== locationId || row.order_ref === null || row.version !== e.version) continue;
    orders.push(viewFor(ctx, profile, row, sharing.get(row.id)!));
  }
  const last = page[page.length - 1];
  return { orders, cursor: encodeOrderCursor(last ? last.version : after), hasMore };
}
