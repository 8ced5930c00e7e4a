import crypto from 'node:crypto';
import type { CeremonyPurpose } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';

/**
 * Security-key ceremonies, one row of `webauthn_challenges` each (docs/security-model.md,
 * "Security keys and the relying party").
 *
 * A ceremony is started over REST by a client that proved who it is (a session and the
 * password, or the password at sign-in). It holds the challenge the authenticator must sign
 * (W3C WebAuthn L3 section 13.4.3: random, at least 16 bytes, used once), the user and purpose
 * it is bound to, and a short expiry. The page on the server's own origin runs the browser side
 * and posts the result; only the client holding the poll token learns it (the RFC 8252 pattern,
 * with the poll token in the role of PKCE's verifier, RFC 7636): the ceremony id travels in a
 * URL through a browser, the poll token never does.
 */

export type CeremonyRow = Selectable<Database['webauthn_challenges']>;

/** pending: waiting for the page; answered: an assertion waiting to be presented; done / failed: a registration's end. */
export type CeremonyState = 'pending' | 'answered' | 'done' | 'failed';

/** Long enough to find a key and touch it; short enough that a leaked link is soon worthless. */
export const ceremonyTtlMs = 5 * 60_000;

const randomToken = () => crypto.randomBytes(32).toString('base64url');
const sha256Hex = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

export interface CeremonyPayload {
  /** register: the name the user chose for the key. */
  name?: string;
  /** register: the session that started it; the key is stored only while it is still open. */
  sessionId?: string;
  /** login, step_up: the device the ceremony was started from; the assertion is accepted only from it. */
  deviceId?: string;
  /** The options handed to the page (what `startRegistration` / `startAuthentication` take). */
  options?: Record<string, unknown>;
  /** answered: the page's assertion, handed back to the poller to present. */
  response?: unknown;
  /** done: the registered key's id; failed: why. */
  credentialId?: string;
  reason?: string;
}

export function readPayload(row: Pick<CeremonyRow, 'payload'>): CeremonyPayload {
  return JSON.parse(row.payload) as CeremonyPayload;
}

export async function createCeremony(
  db: Db,
  c: { userId: string; purpose: CeremonyPurpose; challenge: string; payload: CeremonyPayload },
  now: number,
): Promise<{ ceremonyId: string; pollToken: string; expiresAt: number }> {
  const ceremonyId = randomToken();
  const pollToken = randomToken();
  const expiresAt = now + ceremonyTtlMs;
  // Expired ceremonies are worthless; clear them as new ones start, so the table stays small.
  await db.deleteFrom('webauthn_challenges').where('expires_at', '<', now - ceremonyTtlMs).execute();
  await db.insertInto('webauthn_challenges').values({
    id: ceremonyId, user_id: c.userId, purpose: c.purpose, challenge: c.challenge, created_at: now, expires_at: expiresAt,
    used_at: null, poll_hash: sha256Hex(pollToken), state: 'pending', payload: JSON.stringify(c.payload),
  }).execute();
  return { ceremonyId, pollToken, expiresAt };
}

export async function findCeremony(db: Db, ceremonyId: string): Promise<CeremonyRow | null> {
  return (await db.selectFrom('webauthn_challenges').selectAll().where('id', '=', ceremonyId).executeTakeFirst()) ?? null;
}

/** Constant-time comparison of the presented poll token with the stored hash. */
export function pollTokenMatches(row: Pick<CeremonyRow, 'poll_hash'>, pollToken: string): boolean {
  if (row.poll_hash === null) return false;
  const a = Buffer.from(sha256Hex(pollToken), 'hex');
  const b = Buffer.from(row.poll_hash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * Moves a pending, unexpired ceremony to its next state, once: of two answers racing, one wins
 * (a conditional update, so it holds across server processes too).
 */
export async function settleCeremony(db: Db, ceremonyId: string, to: Exclude<CeremonyState, 'pending'>, payload: CeremonyPayload, now: number): Promise<boolean> {
  const r = await db.updateTable('webauthn_challenges')
    .set({ state: to, payload: JSON.stringify(payload), ...(to === 'answered' ? {} : { used_at: now }) })
    .where('id', '=', ceremonyId).where('state', '=', 'pending').where('used_at', 'is', null).where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Spends an assertion ceremony: marks it used if it was not, and says whether this call did.
 * A challenge is good for one assertion (L3 section 13.4.3), so a replayed one finds it spent.
 */
export async function spendCeremony(db: Db, ceremonyId: string, now: number): Promise<boolean> {
  const r = await db.updateTable('webauthn_challenges').set({ used_at: now })
    .where('id', '=', ceremonyId).where('used_at', 'is', null).where('expires_at', '>', now)
    .where('state', 'in', ['pending', 'answered'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
