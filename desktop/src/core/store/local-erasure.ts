import { Change as ChangeSchema, Mutation as MutationSchema } from '@depotline/shared';
import { text, textOrNull } from './entity-tables';
import { targetOf } from './optimistic';
import { chunks } from './server-batch';
import type { SqlConnection } from './sql-binding';

/**
 * What a stop leaves behind besides its row, removed when the stop is removed or pseudonymised
 * (by the server's purge or erasure, a removal for this viewer, or the local retention sweep):
 * its pending edits and their confirmed copy (a create or update carries the customer's name,
 * address and phone; a status change its free-text reason), edits the server refused that name
 * it, and the offline proof copy. Runs inside the caller's transaction, which then truncates
 * the WAL (`purge`), so secure_delete's zeroed cells are all that is left in the file.
 *
 * Pending edits of such a stop are discarded, not sent: the server would refuse them for a
 * removed stop, and for a pseudonymised one they could bring back what was erased.
 * Answers how many pending edits were discarded.
 */
export async function forgetStopLeftovers(conn: SqlConnection, stopIds: readonly string[], options: { keepConfirmed?: boolean } = {}): Promise<number> {
  if (stopIds.length === 0) return 0;
  let discarded = 0;
  for (const part of chunks(stopIds, 500)) {
    const list = part.map(() => '?').join(', ');
    discarded += (await conn.run(`DELETE FROM outbox WHERE target_kind = 'stop' AND target_id IN (${list})`, part)).changes;
    // keepConfirmed: the caller settles the stop next, which shows the confirmed server value alone and drops the copy.
    if (!options.keepConfirmed) await conn.run(`DELETE FROM confirmed WHERE kind = 'stop' AND id IN (${list})`, part);
    await conn.run(`DELETE FROM proof_cache WHERE stop_id IN (${list})`, part);
  }
  const ids = new Set(stopIds);
  // Refused edits are few (kept until the user has seen them); their stop is in the mutation's
  // target or in the server's current value that came with the refusal.
  for (const row of await conn.all('SELECT id, mutation, current FROM rejected_mutations')) {
    if (namesStop(text(row, 'mutation'), textOrNull(row, 'current'), ids)) {
      await conn.run('DELETE FROM rejected_mutations WHERE id = ?', [text(row, 'id')]);
    }
  }
  return discarded;
}

/** JSON.parse that answers undefined instead of throwing: one unreadable entry must not wedge a sync. */
function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

function namesStop(mutationJson: string, currentJson: string | null, ids: ReadonlySet<string>): boolean {
  const m = MutationSchema.safeParse(parseJson(mutationJson));
  // An entry this version cannot read is dropped rather than kept with unknown contents.
  if (!m.success) return true;
  const target = targetOf(m.data);
  if (target.kind === 'stop' && ids.has(target.id)) return true;
  if (currentJson === null) return false;
  const current = ChangeSchema.safeParse(parseJson(currentJson));
  if (!current.success) return true;
  const c = current.data;
  if (c.entity === 'removed') return c.data.kind === 'stop' && ids.has(c.data.id);
  return c.entity === 'stop' && ids.has(c.data.id);
}
