import type { Db } from '../db/database';
import { doNotSellStops, type IndexedStop } from '../privacy/consents';
import type { StopSharing } from './profile-filter';

/**
 * Which integration is needed to deliver a stop, for the do-not-sell-or-share rule of the
 * egress filter (profile-filter.ts `sharedProfile`): the integration that created the order,
 * and every courier (it carries the parcel to the door). Anyone else (a shop that did not send
 * the order, a warehouse, notifications, accounting) receives such a customer's stop without
 * their identity or contact details.
 */

export interface SharingReader {
  id: string;
  kind: string;
}

/** The sharing of each stop among `stops` for `reader`, keyed by stop id. */
export async function sharingFor(db: Db, reader: SharingReader, stops: readonly IndexedStop[]): Promise<Map<string, StopSharing>> {
  const out = new Map<string, StopSharing>();
  const dns = new Set<string>();
  for (let i = 0; i < stops.length; i += 400) for (const id of await doNotSellStops(db, stops.slice(i, i + 400))) dns.add(id);
  const created = new Set<string>();
  const flagged = stops.filter((s) => dns.has(s.id)).map((s) => s.id);
  if (reader.kind !== 'courier') {
    for (let i = 0; i < flagged.length; i += 500) {
      const rows = await db.selectFrom('integration_orders').select('stop_id')
        .where('integration_id', '=', reader.id).where('stop_id', 'in', flagged.slice(i, i + 500)).execute();
      for (const r of rows) created.add(r.stop_id);
    }
  }
  for (const s of stops) {
    out.set(s.id, { doNotSell: dns.has(s.id), deliversStop: reader.kind === 'courier' || created.has(s.id) });
  }
  return out;
}

/** The sharing of one stop for `reader`. */
export async function sharingOf(db: Db, reader: SharingReader, stop: IndexedStop): Promise<StopSharing> {
  return (await sharingFor(db, reader, [stop])).get(stop.id)!;
}
