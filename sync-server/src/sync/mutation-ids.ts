import { sql } from 'kysely';
import { dbKindOf } from '../db/database';
import type { Trx } from './mutations/handler';

/**
 * The ids of pushed mutations, claimed in `applied_mutations` so each is applied at most once
 * (docs/sync-protocol.md, "Exactly once"). A push claims all its ids in one statement before it
 * applies any, and settles them in one statement before it commits: applied ids get the version
 * they produced, refused ids are released so a corrected retry may use them again. Inside the
 * push's transaction, so a push that fails leaves no claim behind.
 *
 * Claiming up front changes nothing a client can see: the claim row of a mutation that is then
 * refused is never visible outside the transaction, and it is deleted before the commit.
 */

/** Rows per claim INSERT on SQLite: 5 columns each stays under its 999 bound parameters. */
const claimChunk = 150;

export interface ClaimedIds {
  /** Ids this push inserted: it applies them. */
  claimed: ReadonlySet<string>;
  /** Ids claimed before this push (a replay, or another user's id): owner and version. */
  seen: ReadonlyMap<string, { user_id: string; version: number }>;
}

/**
 * Claims every id of a push (`insert ... on conflict do nothing`). An id claimed by a concurrent
 * push makes PostgreSQL wait for that push's transaction, then report the conflict (or insert, if
 * it rolled back). Ids are inserted in sorted order, so two pushes replaying overlapping ids wait
 * for each other rather than deadlock.
 */
export async function claimMutationIds(
  trx: Trx, userId: string, mutations: readonly { id: string; locationId: string }[], now: number,
): Promise<ClaimedIds> {
  const byId = new Map<string, string>();
  for (const m of mutations) if (!byId.has(m.id)) byId.set(m.id, m.locationId);
  const ids = [...byId.keys()].sort();
  const claimed = new Set<string>();
  if (dbKindOf(trx) === 'postgres') {
    // One statement whatever the push's size (and one SQL text, which PostgreSQL plans once).
    const rows = await sql<{ id: string }>`
      insert into applied_mutations (id, user_id, location_id, version, applied_at)
      select u.id, ${userId}::text, u.location_id, 0, ${now}::bigint
      from unnest(${ids}::text[], ${ids.map((id) => byId.get(id)!)}::text[]) with ordinality as u(id, location_id, n)
      order by u.n
      on conflict (id) do nothing
      returning id`.execute(trx);
    for (const r of rows.rows) claimed.add(r.id);
  } else {
    for (let i = 0; i < ids.length; i += claimChunk) {
      const rows = await trx.insertInto('applied_mutations')
        .values(ids.slice(i, i + claimChunk).map((id) => ({ id, user_id: userId, location_id: byId.get(id)!, version: 0, applied_at: now })))
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      for (const r of rows) claimed.add(r.id);
    }
  }
  const seen = new Map<string, { user_id: string; version: number }>();
  const others = ids.filter((id) => !claimed.has(id));
  for (let i = 0; i < others.length; i += 500) {
    const rows = await trx.selectFrom('applied_mutations').select(['id', 'user_id', 'version']).where('id', 'in', others.slice(i, i + 500)).execute();
    for (const r of rows) seen.set(r.id, { user_id: r.user_id, version: Number(r.version) });
  }
  return { claimed, seen };
}

/**
 * Stores the version each applied id produced and releases the refused ones, in one statement on
 * PostgreSQL. `applied` and `released` are disjoint.
 */
export async function settleMutationIds(trx: Trx, applied: ReadonlyMap<string, number>, released: ReadonlySet<string>): Promise<void> {
  if (applied.size === 0 && released.size === 0) return;
  if (dbKindOf(trx) === 'postgres') {
    await sql`
      with released as (delete from applied_mutations where id = any(${[...released]}::text[]))
      update applied_mutations a set version = v.version
      from unnest(${[...applied.keys()]}::text[], ${[...applied.values()]}::bigint[]) as v(id, version)
      where a.id = v.id`.execute(trx);
    return;
  }
  for (const [id, version] of applied) {
    await trx.updateTable('applied_mutations').set({ version }).where('id', '=', id).execute();
  }
  const ids = [...released];
  for (let i = 0; i < ids.length; i += 500) {
    await trx.deleteFrom('applied_mutations').where('id', 'in', ids.slice(i, i + 500)).execute();
  }
}
