import crypto from 'node:crypto';
import { canonicalJson } from '../audit/canonical';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError } from '../errors';

/**
 * `Idempotency-Key` for order creates (draft-ietf-httpapi-idempotency-key-header): the first
 * request with a key claims it in the transaction that makes the order, so the claim and the
 * order commit together or not at all. A retry with the same key and the same request finds the
 * claim and is answered with the same order; with another request it is refused (422), never
 * applied. Two identical requests at once make one order: PostgreSQL holds the second insert of
 * the key until the first transaction ends, SQLite runs one write transaction at a time.
 *
 * Stored: hashes of the key and of the request, the answer's status and the stop it made. No body
 * and no customer data; a replay presents the stop again, through the profile as it is now.
 */

/** How long a key is remembered. */
export const idempotencyKeyTtlMs = 24 * 60 * 60 * 1000;

export const idempotencyKeyReused = () =>
  new AppError('idempotency_key_reused', 422, 'This Idempotency-Key was already used with another request; send a new key for a new request.');

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

/** The request a key stands for: method, path and body (keys in any order are the same body). */
export function requestHash(method: string, path: string, body: unknown): string {
  return sha256(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`);
}

export interface IdempotentRequest {
  integrationId: string;
  key: string;
  requestHash: string;
  locationId: string;
  operation: string;
}

/** A previous answer to the same key and request. */
export interface Replay {
  status: number;
  stopId: string | null;
}

/**
 * Claims the key inside `trx`, or returns the answer already given for it. A claim whose time is
 * up is taken over. Throws `idempotency_key_reused` when the key was used for another request.
 * `record` must be called in the same transaction once the answer is known.
 */
export async function claimIdempotencyKey(trx: Db, r: IdempotentRequest, now: number): Promise<{ replay: Replay } | { record: (status: number, stopId: string | null) => Promise<void> }> {
  const keyHash = sha256(r.key);
  const row = { integration_id: r.integrationId, key_hash: keyHash, request_hash: r.requestHash, location_id: r.locationId, operation: r.operation, status: 0, stop_id: null, created_at: now, expires_at: now + idempotencyKeyTtlMs };
  const claim = () => trx.insertInto('idempotency_keys').values(row).onConflict((oc) => oc.columns(['integration_id', 'key_hash']).doNothing()).returning('key_hash').executeTakeFirst();
  let claimed = await claim();
  if (!claimed) {
    const seen = await trx.selectFrom('idempotency_keys').selectAll().where('integration_id', '=', r.integrationId).where('key_hash', '=', keyHash).executeTakeFirst();
    if (seen && seen.expires_at <= now) {
      await trx.deleteFrom('idempotency_keys').where('integration_id', '=', r.integrationId).where('key_hash', '=', keyHash).execute();
      claimed = await claim();
    } else if (seen) {
      if (seen.request_hash !== r.requestHash) throw idempotencyKeyReused();
      return { replay: { status: seen.status, stopId: seen.stop_id } };
    } else {
      claimed = await claim();
    }
    if (!claimed) throw new AppError('conflict', 409, 'A request with this Idempotency-Key is still being processed; retry in a moment.');
  }
  return {
    record: async (status, stopId) => {
      await trx.updateTable('idempotency_keys').set({ status, stop_id: stopId })
        .where('integration_id', '=', r.integrationId).where('key_hash', '=', keyHash).execute();
    },
  };
}

/** Rows per claim INSERT: 9 columns each stays under SQLite's 999 bound parameters. */
const claimChunk = 100;

/** What a batch claim found for one request: claimed for the stop given, an earlier answer, or a refusal. */
export type BatchClaim = { claimed: true } | { replay: Replay } | { error: AppError };

/**
 * `claimIdempotencyKey` for the orders of one batch, in two or three statements instead of two
 * or three per order: the keys already stored are read at once, those whose time is up are
 * deleted, and every new key is claimed by one multi-row insert already holding the answer it
 * will give (201 and the id of the stop about to be made: nobody sees the claims before the
 * transaction commits). A key the insert could not take (another transaction committed it
 * meanwhile) is read again and answered as a single create would answer it. Each key must
 * appear once (`requests` deduplicated by the caller); a claimed key whose order is then refused
 * must be released with `releaseIdempotencyKey` in the same transaction.
 */
export async function claimIdempotencyKeys(
  trx: Db, requests: readonly (IdempotentRequest & { stopId: string })[], now: number,
): Promise<BatchClaim[]> {
  if (requests.length === 0) return [];
  const integrationId = requests[0]!.integrationId;
  const hashes = requests.map((r) => sha256(r.key));
  const stored = async (of: readonly string[]) => new Map((await trx.selectFrom('idempotency_keys').selectAll()
    .where('integration_id', '=', integrationId).where('key_hash', 'in', of).execute()).map((row) => [row.key_hash, row]));
  const seen = await stored(hashes);
  const expired = [...seen.values()].filter((row) => row.expires_at <= now).map((row) => row.key_hash);
  if (expired.length > 0) {
    await trx.deleteFrom('idempotency_keys').where('integration_id', '=', integrationId).where('key_hash', 'in', expired).execute();
    for (const h of expired) seen.delete(h);
  }
  const answer = (r: IdempotentRequest, row: { request_hash: string; status: number; stop_id: string | null } | undefined): BatchClaim => {
    if (!row) return { error: new AppError('conflict', 409, 'A request with this Idempotency-Key is still being processed; retry in a moment.') };
    if (row.request_hash !== r.requestHash) return { error: idempotencyKeyReused() };
    return { replay: { status: row.status, stopId: row.stop_id } };
  };
  // Sorted by key, so two batches claiming the same keys take them in one order (no deadlock on PostgreSQL).
  const fresh = hashes.map((h, i) => ({ h, r: requests[i]! })).filter(({ h }) => !seen.has(h)).sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
  const taken = new Set<string>();
  for (let i = 0; i < fresh.length; i += claimChunk) {
    const rows = fresh.slice(i, i + claimChunk).map(({ h, r }) => ({
      integration_id: r.integrationId, key_hash: h, request_hash: r.requestHash, location_id: r.locationId, operation: r.operation,
      status: 201, stop_id: r.stopId, created_at: now, expires_at: now + idempotencyKeyTtlMs,
    }));
    const claimed = await trx.insertInto('idempotency_keys').values(rows).onConflict((oc) => oc.columns(['integration_id', 'key_hash']).doNothing()).returning('key_hash').execute();
    for (const c of claimed) taken.add(c.key_hash);
  }
  const lost = fresh.filter(({ h }) => !taken.has(h)).map(({ h }) => h);
  const meanwhile = lost.length > 0 ? await stored(lost) : new Map<string, never>();
  return requests.map((r, i) => {
    const h = hashes[i]!;
    if (taken.has(h)) return { claimed: true };
    return answer(r, seen.get(h) ?? meanwhile.get(h));
  });
}

/** Gives up a claim of `claimIdempotencyKeys` whose order was refused: the key is free again. */
export async function releaseIdempotencyKey(trx: Db, integrationId: string, key: string): Promise<void> {
  await trx.deleteFrom('idempotency_keys').where('integration_id', '=', integrationId).where('key_hash', '=', sha256(key)).execute();
}

const lastPrune = new WeakMap<ServerContext, number>();

/** Drops keys whose time is up, at most once a minute per server (the expiry index makes it a short range scan). */
export async function pruneIdempotencyKeys(ctx: ServerContext, trx: Db, now: number): Promise<void> {
  if ((lastPrune.get(ctx) ?? 0) > now - 60_000) return;
  lastPrune.set(ctx, now);
  await trx.deleteFrom('idempotency_keys').where('expires_at', '<=', now).execute();
}
