import { LocationRetention as LocationRetentionSchema, type LocationRetention } from '@depotline/shared';
import { int, text, textOrNull } from './entity-tables';
import { forgetStopLeftovers } from './local-erasure';
import type { SqlConnection } from './sql-binding';

/**
 * The local retention sweep: each location's periods as the server last listed them
 * (`locations.retention`, migration 0008) applied to this file, with or without a network, at
 * the time the server's purge would apply them (docs/sync-protocol.md, "Local retention"):
 * - contact: a stop whose window ended more than `contactDays` ago is pseudonymised (name,
 *   address, notes, phone, email, coordinates, payment reference and failure note cleared), as
 *   the server does;
 * - delivery: a stop whose window ended more than `deliveryDays` ago is deleted, with a
 *   tombstone just below its version so an older copy cannot bring it back;
 * - positionHistory: a driver's last position older than `positionHistoryDays` is deleted;
 * - proof: the offline proof copy of a stop whose window ended more than `proofDays` ago, or
 *   that was cached more than `proofDays` ago, is deleted.
 * A stop under a legal hold (`held`, migration 0009) is neither pseudonymised nor deleted, and
 * its proof copy stays; once the server says the hold ended the next sweep applies the periods.
 * Either way the stop's pending and refused edits and its proof copy go with the identity
 * (local-erasure.ts). A location the server gave no periods for is left alone. Runs inside the
 * caller's transaction; the caller truncates the WAL when anything went.
 */

export interface SweepOutcome {
  pseudonymised: number;
  deleted: number;
  positions: number;
  proofCopies: number;
  /** Pending edits of swept stops, discarded (they could carry what was erased). */
  discardedEdits: number;
}

const day = 86_400_000;

/** The fields the server empties when it pseudonymises; the three required ones then read as absent. */
const clearedColumns = ['customer_name', 'address', 'notes', 'phone', 'email', 'latitude', 'longitude', 'payment_ref', 'failure_note'] as const;
const absentAfterClearing = ['customerName', 'address', 'notes'] as const;

export function parseStoredRetention(json: string | null): LocationRetention | null {
  if (json === null) return null;
  try {
    const parsed = LocationRetentionSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function sweepExpired(conn: SqlConnection, now: number): Promise<SweepOutcome> {
  const out: SweepOutcome = { pseudonymised: 0, deleted: 0, positions: 0, proofCopies: 0, discardedEdits: 0 };
  for (const row of await conn.all('SELECT id, retention FROM locations')) {
    const retention = parseStoredRetention(textOrNull(row, 'retention'));
    if (retention) await sweepLocation(conn, text(row, 'id'), retention, now, out);
  }
  return out;
}

async function sweepLocation(conn: SqlConnection, locationId: string, r: LocationRetention, now: number, out: SweepOutcome): Promise<void> {
  // Delivery first: a stop past both periods is deleted, not first pseudonymised. A stop under a
  // legal hold (`held`, as the server last said) is left alone, as the server's purge leaves it.
  const expired = await conn.all(
    'SELECT id, version FROM stops WHERE location_id = ? AND window_end < ? AND held = 0', [locationId, now - r.deliveryDays * day],
  );
  if (expired.length > 0) {
    const ids = expired.map((s) => text(s, 'id'));
    out.discardedEdits += await forgetStopLeftovers(conn, ids);
    for (const s of expired) {
      // The tombstone stops older copies only: the server sending this very version again (a
      // full pull of a stop it still keeps, say under a hold this console did not know of yet)
      // brings it back, so a stop the server kept is never kept off this console for good.
      await conn.run(
        `INSERT INTO tombstones (kind, id, location_id, version) VALUES ('stop', ?, ?, ?)
         ON CONFLICT(kind, id) DO UPDATE SET version = max(version, excluded.version)`,
        [text(s, 'id'), locationId, int(s, 'version') - 1],
      );
      out.deleted += (await conn.run('DELETE FROM stops WHERE id = ?', [text(s, 'id')])).changes;
    }
  }

  const stale = await conn.all(
    'SELECT id, hidden_fields FROM stops WHERE location_id = ? AND window_end < ? AND pseudonymised = 0 AND held = 0',
    [locationId, now - r.contactDays * day],
  );
  if (stale.length > 0) {
    out.discardedEdits += await forgetStopLeftovers(conn, stale.map((s) => text(s, 'id')));
    const sets = clearedColumns.map((c) => `${c} = NULL`).join(', ');
    for (const s of stale) {
      const hidden = new Set<string>(JSON.parse(text(s, 'hidden_fields')) as string[]);
      for (const f of absentAfterClearing) hidden.add(f);
      out.pseudonymised += (await conn.run(
        `UPDATE stops SET ${sets}, hidden_fields = ?, pseudonymised = 1 WHERE id = ?`, [JSON.stringify([...hidden]), text(s, 'id')],
      )).changes;
    }
  }

  out.positions += (await conn.run(
    'DELETE FROM positions WHERE location_id = ? AND recorded_at < ?', [locationId, now - r.positionHistoryDays * day],
  )).changes;

  const proofCutoff = now - r.proofDays * day;
  out.proofCopies += (await conn.run(
    `DELETE FROM proof_cache WHERE location_id = ? AND (cached_at < ?
       OR stop_id IN (SELECT id FROM stops WHERE location_id = ? AND (window_end < ? OR pseudonymised = 1))
       OR stop_id NOT IN (SELECT id FROM stops WHERE location_id = ?))
       AND stop_id NOT IN (SELECT id FROM stops WHERE location_id = ? AND held = 1)`,
    [locationId, proofCutoff, locationId, proofCutoff, locationId, locationId],
  )).changes;
}
