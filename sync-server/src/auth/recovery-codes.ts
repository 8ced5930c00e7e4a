import crypto from 'node:crypto';
import { recoveryCodeCount, type RecoveryCodeSet, type RecoveryCodesStatus } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { raiseSecurityAlert } from './security-alerts';

/**
 * Recovery codes: NIST SP 800-63B 5.1.2 "look-up secrets". Ten single-use codes per user, shown
 * once when generated; a new set replaces the old one entirely. A code stands in for the
 * user's second factor at sign-in (login.ts, through second-factor.ts).
 *
 * Format: three groups of four from a 31-symbol alphabet without 0/o and 1/l/i, such as
 * `k7mq-3vxa-p9tr`: 12 x log2(31) = 59.4 bits per code (NIST asks for at least 20 bits for a
 * look-up secret; we want an online guesser to have no chance at all, and a copy on paper to be
 * easy to type). The dashes and the case are ignored when a code is entered.
 *
 * Storage: HMAC-SHA-256 under a key derived (HKDF) from the server's token key, with the
 * user's id in the MAC input. A keyed hash rather than a slow one (argon2id) because:
 * - the key lives outside the database (like the field key), so a dump or a backup of the
 *   database alone gives nothing to guess against offline; that is what a slow hash defends
 *   against, and NIST SP 800-63B 5.1.1.2 names this "secret salt" kept apart from the hashes;
 * - a code is found by one indexed equality and spent by one conditional UPDATE, so of two
 *   concurrent uses of one code exactly one wins, with no read-then-write window;
 * - checking a code costs microseconds, not ten argon2 runs (one per stored code): no CPU
 *   lever for someone who knows the password but not the codes.
 * The user id in the MAC input means identical codes of two users never share a hash, and a
 * hash copied into another user's rows matches nothing. Rotating the token key invalidates
 * every recovery code (users generate a new set); docs/security-model.md says so.
 */

const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
const groupCount = 3;
const groupLength = 4;
const codeLength = groupCount * groupLength;
/** Entropy of one code, in bits (tested to stay at or above 50). */
export const recoveryCodeBits = codeLength * Math.log2(alphabet.length);

/** One random code, formatted for people: `abcd-efgh-jkmn`. */
export function generateRecoveryCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < groupCount; g++) {
    let group = '';
    // crypto.randomInt is uniform over the range (no modulo bias).
    for (let i = 0; i < groupLength; i++) group += alphabet[crypto.randomInt(alphabet.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/** A code as typed, reduced to its 12 symbols; null when it cannot be a code at all. */
export function normalizeRecoveryCode(text: string): string | null {
  const symbols = text.toLowerCase().replace(/[\s-]+/g, '');
  if (symbols.length !== codeLength) return null;
  for (const c of symbols) if (!alphabet.includes(c)) return null;
  return symbols;
}

/** HKDF-derived once per token key, so the MAC key is never the signing key itself. */
const macKeys = new WeakMap<Uint8Array, Buffer>();
function macKey(ctx: ServerContext): Buffer {
  let key = macKeys.get(ctx.tokenKey);
  if (!key) {
    key = Buffer.from(crypto.hkdfSync('sha256', ctx.tokenKey, Buffer.alloc(0), 'depotline recovery-code hash v1', 32));
    macKeys.set(ctx.tokenKey, key);
  }
  return key;
}

/** The stored form of a normalized code of one user. */
export function hashRecoveryCode(ctx: ServerContext, userId: string, normalized: string): string {
  return crypto.createHmac('sha256', macKey(ctx)).update(`${userId}\u0000${normalized}`, 'utf8').digest('hex');
}

/**
 * Serializes changes to one user's codes. SQLite runs one write transaction at a time already;
 * PostgreSQL needs the user's row locked, or two concurrent regenerations could each delete the
 * old set and both insert theirs, leaving twenty valid codes.
 */
async function lockUserRow(ctx: ServerContext, trx: Db, userId: string): Promise<void> {
  await trx.selectFrom('users').select('id').where('id', '=', userId)
    .$if(ctx.dbKind === 'postgres', (q) => q.forUpdate())
    .execute();
}

/**
 * Replaces the user's codes with a fresh set inside the caller's transaction (which has
 * already re-authenticated the user): the old codes, used or not, stop working at once. The
 * plaintext codes are returned to be shown once and are never stored or logged.
 */
export async function replaceRecoveryCodes(ctx: ServerContext, trx: Db, userId: string, actor: AuditActor, now: number): Promise<RecoveryCodeSet> {
  await lockUserRow(ctx, trx, userId);
  const replaced = await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).executeTakeFirst();
  const codes = new Set<string>();
  while (codes.size < recoveryCodeCount) codes.add(generateRecoveryCode());
  await trx.insertInto('recovery_codes').values([...codes].map((code) => ({
    id: crypto.randomUUID(), user_id: userId, code_hash: hashRecoveryCode(ctx, userId, normalizeRecoveryCode(code)!), created_at: now, used_at: null,
  }))).execute();
  const details = { count: recoveryCodeCount, replaced: Number(replaced.numDeletedRows) };
  await appendAudit(trx, actor, { action: 'mfa.recovery_codes_generate', outcome: 'ok', targetType: 'user', targetId: userId, details }, now);
  await raiseSecurityAlert(trx, { userId, kind: 'factor_added', details: { factor: 'recovery_codes', ...details }, actor }, now);
  return { codes: [...codes], createdAt: now };
}

export type RecoveryCodeUse = { ok: true; remaining: number } | { ok: false; reason: 'unknown' | 'reused' };

/**
 * Spends one code of the user, in one transaction with its audit entry and alert. The spend is
 * a conditional UPDATE (`used_at is null`): of two concurrent uses of one code, the second
 * finds it spent (PostgreSQL re-checks the row once the first commits; SQLite runs them one
 * after the other). A refusal is audited with whether the code was unknown or already used
 * (a reused code may mean someone else has the list: ASVS 2.6.1); the caller counts it as a
 * failed second factor.
 */
export async function useRecoveryCode(ctx: ServerContext, userId: string, typed: string, actor: AuditActor): Promise<RecoveryCodeUse> {
  const normalized = normalizeRecoveryCode(typed);
  return ctx.db.transaction().execute(async (trx): Promise<RecoveryCodeUse> => {
    const now = ctx.now();
    const hash = normalized === null ? null : hashRecoveryCode(ctx, userId, normalized);
    if (hash !== null) {
      const spent = await trx.updateTable('recovery_codes').set({ used_at: now })
        .where('user_id', '=', userId).where('code_hash', '=', hash).where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(spent.numUpdatedRows) === 1) {
        const remaining = await countUnused(trx, userId);
        await appendAudit(trx, actor, { action: 'mfa.recovery_code_used', outcome: 'ok', targetType: 'user', targetId: userId, details: { remaining } }, now);
        await raiseSecurityAlert(trx, { userId, kind: 'recovery_code_used', details: { remaining }, actor }, now);
        return { ok: true, remaining };
      }
    }
    const known = hash !== null && (await trx.selectFrom('recovery_codes').select('id').where('user_id', '=', userId).where('code_hash', '=', hash).executeTakeFirst()) !== undefined;
    const reason = known ? 'reused' : 'unknown';
    await appendAudit(trx, actor, { action: 'mfa.recovery_code_refused', outcome: 'denied', targetType: 'user', targetId: userId, details: { reason } }, now);
    return { ok: false, reason };
  });
}

async function countUnused(db: Db, userId: string): Promise<number> {
  const row = await db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** How many of the user's codes are left, and when the set was made; never the codes. */
export async function recoveryCodesStatus(db: Db, userId: string): Promise<RecoveryCodesStatus> {
  const row = await db.selectFrom('recovery_codes')
    .select((eb) => [eb.fn.max('created_at').as('created_at')])
    .where('user_id', '=', userId).executeTakeFirst();
  const createdAt = row?.created_at === null || row?.created_at === undefined ? null : Number(row.created_at);
  return { remaining: await countUnused(db, userId), createdAt };
}

/** True when the user has at least one unused code (sign-in may then accept one). */
export async function hasUnusedRecoveryCodes(db: Db, userId: string): Promise<boolean> {
  return (await countUnused(db, userId)) > 0;
}
