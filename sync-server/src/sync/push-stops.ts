import type { Mutation } from '@depotline/shared';
import type { AccessProfile } from '../access/access-profile';
import { dbKindOf } from '../db/database';
import type { Trx } from './mutations/handler';
import type { StopRow } from './presenters';

/** The stop mutations whose handler starts by reading their stop (mutations/stop.ts, `loadStopIn`). */
const readsItsStop: ReadonlySet<Mutation['type']> = new Set(['stop.setStatus', 'stop.editNotes', 'stop.update', 'stop.revealPhone']);

/**
 * Reads, in one statement, the stops a push's stop mutations start from, so each mutation does
 * not read its own (one round trip less per mutation on PostgreSQL). On PostgreSQL the push first
 * locks the rows of the locations it writes at (where the caller holds a grant, in id order), the
 * lock `recordChange` would take at the first write anyway: the stops are then read as they are
 * after every push before it at those locations committed, so a transition is checked against
 * the status it replaces, not one another push is changing. SQLite runs one transaction at a time.
 *
 * The push keeps the rows current: after each mutation it forgets the stops that mutation touched,
 * so a stop changed twice in one push is read again from the database.
 */
export async function readPushStops(trx: Trx, profile: AccessProfile, mutations: readonly Mutation[]): Promise<Map<string, StopRow>> {
  const stops = new Map<string, StopRow>();
  const wanted = mutations.filter((m) => readsItsStop.has(m.type) && profile.byLocation.has(m.locationId)) as (Mutation & { stopId: string })[];
  if (wanted.length === 0) return stops;
  if (dbKindOf(trx) === 'postgres') {
    const locations = [...new Set(wanted.map((m) => m.locationId))].sort();
    await trx.selectFrom('locations').select('id').where('id', 'in', locations).orderBy('id').forUpdate().execute();
  }
  const ids = [...new Set(wanted.map((m) => m.stopId))];
  for (let i = 0; i < ids.length; i += 500) {
    for (const row of await trx.selectFrom('stops').selectAll().where('id', 'in', ids.slice(i, i + 500)).execute()) stops.set(row.id, row);
  }
  return stops;
}
