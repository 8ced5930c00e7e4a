import crypto from 'node:crypto';
import { deliveryPinLength, maxPinAttempts } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { ServerContext } from '../context';
import { fieldAad } from '../crypto/field-cipher';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';

/**
 * The delivery PIN (docs/security-model.md, "Delivery PIN and regulated goods"). Generated per
 * stop when its order requires one, kept twice and for two readers:
 *
 * - `pin_hash`: HMAC-SHA-256 of the stop id and the PIN under a key derived from the server's
 *   token key. A PIN has a million values, so a plain hash would fall to brute force from a
 *   database dump alone; without the key outside the database, the hash tells nothing. Every
 *   check at the door compares against it.
 * - `pin_enc`: the PIN field-encrypted like customer data (bound to its stop), decrypted only by
 *   `revealPinForTracking` for the customer's tracking page.
 *
 * Wrong tries are counted on the stop; at `maxPinAttempts` it is locked until a dispatcher
 * unlocks it, so a driver (or a stolen device) cannot try the million values.
 */

type StopRow = Selectable<Database['stops']>;
type PinColumns = Pick<StopRow, 'pin_hash' | 'pin_enc' | 'pin_failures' | 'pin_verified_at'> & { pin_required: number };

const macKeys = new WeakMap<Uint8Array, Buffer>();
function macKey(ctx: ServerContext): Buffer {
  let key = macKeys.get(ctx.tokenKey);
  if (!key) {
    key = Buffer.from(crypto.hkdfSync('sha256', ctx.tokenKey, Buffer.alloc(0), 'depotline delivery-pin hash v1', 32));
    macKeys.set(ctx.tokenKey, key);
  }
  return key;
}

const pinAad = (stopId: string) => fieldAad('stops', 'delivery_pin', stopId);

export function hashPin(ctx: ServerContext, stopId: string, pin: string): string {
  return crypto.createHmac('sha256', macKey(ctx)).update(`${stopId}\u0000${pin}`, 'utf8').digest('hex');
}

/** Six uniformly drawn digits (no modulo bias: `randomInt`). */
export function generatePin(): string {
  return String(crypto.randomInt(0, 10 ** deliveryPinLength)).padStart(deliveryPinLength, '0');
}

/** The columns of a freshly generated PIN. */
function freshPin(ctx: ServerContext, stopId: string): PinColumns {
  const pin = generatePin();
  return { pin_required: 1, pin_hash: hashPin(ctx, stopId, pin), pin_enc: ctx.cipher.encrypt(pin, pinAad(stopId)), pin_failures: 0, pin_verified_at: null };
}

const noPin: PinColumns = { pin_required: 0, pin_hash: null, pin_enc: null, pin_failures: 0, pin_verified_at: null };

/** A new stop's PIN columns: a fresh PIN when its order requires one. */
export function newPinColumns(ctx: ServerContext, stopId: string, pinRequired: boolean): PinColumns {
  return pinRequired ? freshPin(ctx, stopId) : noPin;
}

/**
 * The PIN columns after an order says `pinRequired` (undefined: not said, nothing changes). A
 * stop that already has a PIN keeps it (the customer may have seen it); turning the requirement
 * off forgets it. The wrong tries are never forgotten: a PIN made again later starts with the
 * old count, so turning the requirement off and on never gives a locked stop its tries back
 * (only a dispatcher's audited unlock does). Stops en route or at the door refuse turning it off
 * at all (handover.ts).
 */
export function pinColumnsFor(
  ctx: ServerContext,
  stopId: string,
  pinRequired: boolean | undefined,
  current: Pick<StopRow, 'pin_hash' | 'pin_failures'> | null,
): Partial<PinColumns> {
  if (pinRequired === undefined) return {};
  const failures = { pin_failures: current?.pin_failures ?? 0 };
  if (!pinRequired) return { ...noPin, ...failures };
  return current?.pin_hash ? { pin_required: 1 } : { ...freshPin(ctx, stopId), ...failures };
}

export type PinAttemptOutcome =
  | { outcome: 'verified' }
  | { outcome: 'already_verified' }
  | { outcome: 'incorrect'; attemptsLeft: number }
  | { outcome: 'locked' }
  | { outcome: 'not_required' };

/**
 * Checks a PIN given at the door, in the caller's transaction. The try is counted before the
 * comparison by one conditional update, which also takes the row's write lock: concurrent
 * tries are counted one after another and none slips past the limit. A right PIN gives its
 * try back.
 */
export async function attemptPin(ctx: ServerContext, trx: Db, stop: Pick<StopRow, 'id' | 'pin_required' | 'pin_hash' | 'pin_verified_at'>, pin: string, now: number): Promise<PinAttemptOutcome> {
  if (stop.pin_required !== 1 || stop.pin_hash === null) return { outcome: 'not_required' };
  if (stop.pin_verified_at !== null) return { outcome: 'already_verified' };
  const counted = await trx.updateTable('stops').set((eb) => ({ pin_failures: eb('pin_failures', '+', 1) }))
    .where('id', '=', stop.id).where('pin_failures', '<', maxPinAttempts).where('pin_verified_at', 'is', null)
    .returning(['pin_failures', 'pin_hash']).executeTakeFirst();
  if (!counted) return { outcome: 'locked' };
  const given = Buffer.from(hashPin(ctx, stop.id, pin), 'hex');
  const stored = Buffer.from(counted.pin_hash ?? '', 'hex');
  if (given.length === stored.length && crypto.timingSafeEqual(given, stored)) {
    await trx.updateTable('stops').set((eb) => ({ pin_failures: eb('pin_failures', '-', 1), pin_verified_at: now })).where('id', '=', stop.id).execute();
    return { outcome: 'verified' };
  }
  return { outcome: 'incorrect', attemptsLeft: Math.max(0, maxPinAttempts - counted.pin_failures) };
}

/** Gives a locked stop its tries back (a dispatcher, after speaking to the customer). The PIN stays the same. */
export async function unlockPin(trx: Db, stopId: string): Promise<{ failures: number } | null> {
  const row = await trx.selectFrom('stops').select(['pin_failures', 'pin_required']).where('id', '=', stopId).executeTakeFirst();
  if (!row || row.pin_required !== 1) return null;
  await trx.updateTable('stops').set({ pin_failures: 0 }).where('id', '=', stopId).execute();
  return { failures: row.pin_failures };
}

/** Whether the stop's PIN is locked: the limit reached and not verified. */
export const pinLocked = (row: Pick<StopRow, 'pin_failures' | 'pin_verified_at'>) => row.pin_verified_at === null && row.pin_failures >= maxPinAttempts;

/**
 * The PIN in clear, for the customer's tracking page only (tracking/): null when the stop needs
 * none, is already delivered or cancelled, or its stored value does not decrypt (altered in the
 * database: better no PIN than a wrong one). Nothing else reads `pin_enc`.
 */
export async function revealPinForTracking(ctx: ServerContext, stopId: string): Promise<string | null> {
  const row = await ctx.db.selectFrom('stops').select(['pin_required', 'pin_enc', 'status']).where('id', '=', stopId).executeTakeFirst();
  if (!row || row.pin_required !== 1 || row.pin_enc === null) return null;
  if (row.status === 'delivered' || row.status === 'cancelled') return null;
  const read = ctx.cipher.tryDecrypt(row.pin_enc, pinAad(stopId));
  return read.ok ? read.value : null;
}
