import { Change as ChangeSchema, Mutation as MutationSchema, type Change, type Mutation, type MutationResult } from '@depotline/shared';
import { assertNever, LocalEditRefusedError, ServerDataRejectedError } from '../errors';
import { int, intOrNull, readEntity, text, textOrNull } from './entity-tables';
import { forgetStopLeftovers } from './local-erasure';
import { applyMutation, checkLocalEdit, targetOf, type MutationTarget, type TargetEntity } from './optimistic';
import { applyServerChange, assertKnownLocation } from './server-state';
import { ensureConfirmed, readConfirmed, settle, writeConfirmed } from './visible-state';
import type { SqlConnection } from './sql-binding';

/** The outbox and what the server's answers do to it. Every function runs inside a transaction. */

export interface PendingMutation {
  seq: number;
  mutation: Mutation;
  attempts: number;
  lastAttemptAt: number | null;
}

export interface RejectedMutation {
  mutation: Mutation;
  code: string;
  reason: string;
  /** The server's value at the time it refused, as it was sent (already redacted for us). */
  current: Change | null;
  rejectedAt: number;
}

export interface AckOutcome {
  acknowledged: string[];
  rejected: string[];
  /** Results for ids the outbox no longer holds (answered twice, or their location is gone). */
  unknown: string[];
  locationIds: string[];
}

/** Applies the edit to the visible row and queues it, atomically. */
export async function enqueue(conn: SqlConnection, input: Mutation): Promise<MutationTarget> {
  const parsed = MutationSchema.safeParse(input);
  if (!parsed.success) throw new LocalEditRefusedError('bad_request', `the edit is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const m = parsed.data;
  try {
    await assertKnownLocation(conn, m.locationId);
  } catch {
    throw new LocalEditRefusedError('unknown_location', `location ${m.locationId} is not available on this device`);
  }
  if (await conn.get('SELECT 1 AS ok FROM outbox WHERE id = ?', [m.id])) {
    throw new LocalEditRefusedError('already_exists', `edit ${m.id} is already queued`);
  }
  const target = targetOf(m);
  const current = await readEntity(conn, target.kind, target.id);
  await checkLocalEdit(m, current, (kind, id) => readEntity(conn, kind, id));

  await ensureConfirmed(conn, target, m.locationId);
  await conn.run(
    `INSERT INTO outbox (id, location_id, target_kind, target_id, mutation, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    [m.id, m.locationId, target.kind, target.id, JSON.stringify(m), m.createdAt],
  );
  await settle(conn, target);
  return target;
}

export async function pending(conn: SqlConnection, limit: number): Promise<PendingMutation[]> {
  const rows = await conn.all('SELECT seq, mutation, attempts, last_attempt_at FROM outbox ORDER BY seq LIMIT ?', [limit]);
  return rows.map((r) => ({
    seq: int(r, 'seq'),
    mutation: MutationSchema.parse(JSON.parse(text(r, 'mutation'))),
    attempts: int(r, 'attempts'),
    lastAttemptAt: intOrNull(r, 'last_attempt_at'),
  }));
}

export async function recordAttempt(conn: SqlConnection, ids: readonly string[], at: number): Promise<void> {
  for (const id of ids) await conn.run('UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ? WHERE id = ?', [at, id]);
}

/**
 * Applies the server's answers. Applied and duplicate edits leave the outbox and become part
 * of the confirmed state until the server's own change replaces it; a rejected edit leaves
 * the outbox, is recorded for the user, and the entity rolls back to the server's value with
 * the remaining pending edits replayed on top.
 */
export async function acknowledge(conn: SqlConnection, results: readonly MutationResult[], now: number): Promise<AckOutcome> {
  const outcome: AckOutcome = { acknowledged: [], rejected: [], unknown: [], locationIds: [] };
  for (const result of results) {
    const row = await conn.get('SELECT location_id, mutation FROM outbox WHERE id = ?', [result.id]);
    if (!row) {
      outcome.unknown.push(result.id);
      continue;
    }
    const locationId = text(row, 'location_id');
    const m = MutationSchema.parse(JSON.parse(text(row, 'mutation')));
    const target = targetOf(m);
    const confirmed = await readConfirmed(conn, target);
    await conn.run('DELETE FROM outbox WHERE id = ?', [result.id]);

    if (result.status === 'applied' || result.status === 'duplicate') {
      // The server's change for this edit (at result.version) often arrives before the ack; a
      // confirmed state that new already contains the edit, exactly as the server made it.
      if (confirmed && confirmed.version < result.version) {
        await writeConfirmed(conn, target, locationId, confirmed.version, applyMutation(m, confirmed.data));
      }
      outcome.acknowledged.push(result.id);
    } else {
      await conn.run(
        `INSERT INTO rejected_mutations (id, location_id, mutation, code, reason, current, rejected_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO NOTHING`,
        [result.id, locationId, JSON.stringify(m), result.code, result.reason, result.current ? JSON.stringify(result.current) : null, now],
      );
      if (result.current) await adoptCurrent(conn, result.current, target, confirmed?.version ?? 0);
      outcome.rejected.push(result.id);
    }
    // Refused because the stop's customer data is gone: the refused edit (which may carry it)
    // and the stop's other pending edits go too, as when the erasure arrives by a pull; the
    // stop then shows the server's value alone.
    const erased = result.status === 'rejected' ? erasedStopOf(result.current) : null;
    if (erased !== null && target.kind === 'stop' && erased === target.id) await forgetStopLeftovers(conn, [erased], { keepConfirmed: true });
    await settle(conn, target);
    if (!outcome.locationIds.includes(locationId)) outcome.locationIds.push(locationId);
  }
  return outcome;
}

/** The server's value of a refused edit's target becomes the confirmed state, if not older. */
async function adoptCurrent(conn: SqlConnection, current: Change, target: MutationTarget, confirmedVersion: number): Promise<void> {
  const sameTarget = current.entity === 'removed'
    ? current.data.kind === target.kind && current.data.id === target.id
    : current.entity === target.kind && (current.entity === 'position' ? current.data.driverId : current.data.id) === target.id;
  if (sameTarget && current.locationId === (await locationOfConfirmed(conn, target))) {
    if (current.version >= confirmedVersion) await writeConfirmed(conn, target, current.locationId, current.version, targetData(current));
    return;
  }
  // About something else (the route a new stop needed, say): an ordinary, guarded change. One
  // we cannot take (a location no longer ours) must not undo the rest of the acknowledgement.
  try {
    await applyServerChange(conn, current);
  } catch (err) {
    if (!(err instanceof ServerDataRejectedError)) throw err;
  }
}

/** The stop a refusal's current value says is removed or pseudonymised, if any. */
export function erasedStopOf(current: Change | null): string | null {
  if (!current) return null;
  if (current.entity === 'removed') return current.data.kind === 'stop' ? current.data.id : null;
  return current.entity === 'stop' && current.data.pseudonymised === true ? current.data.id : null;
}

function targetData(change: Change): TargetEntity | null {
  switch (change.entity) {
    case 'stop':
    case 'route':
    case 'position':
    case 'driver':
    case 'vehicle':
      return change.data;
    case 'removed':
      return null;
    default:
      return assertNever(change);
  }
}

async function locationOfConfirmed(conn: SqlConnection, target: MutationTarget): Promise<string | null> {
  const row = await conn.get('SELECT location_id FROM confirmed WHERE kind = ? AND id = ?', [target.kind, target.id]);
  return row ? text(row, 'location_id') : null;
}

export async function rejected(conn: SqlConnection): Promise<RejectedMutation[]> {
  const rows = await conn.all('SELECT mutation, code, reason, current, rejected_at FROM rejected_mutations ORDER BY rowid');
  return rows.map((r) => {
    const current = textOrNull(r, 'current');
    return {
      mutation: MutationSchema.parse(JSON.parse(text(r, 'mutation'))),
      code: text(r, 'code'),
      reason: text(r, 'reason'),
      current: current === null ? null : ChangeSchema.parse(JSON.parse(current)),
      rejectedAt: int(r, 'rejected_at'),
    };
  });
}

export async function pendingCount(conn: SqlConnection): Promise<number> {
  const row = await conn.get('SELECT count(*) AS n FROM outbox');
  return row ? int(row, 'n') : 0;
}
