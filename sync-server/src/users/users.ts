import crypto from 'node:crypto';
import { type MfaEnrollment, Username, type UserSummary } from '@depotline/shared';
import type { Selectable } from 'kysely';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import { type EnrollmentBinding, verifyEnrollmentToken, issueEnrollmentToken } from '../auth/enrollment-token';
import { checkNewPassword, hashPassword } from '../auth/passwords';
import { markSessionsOfUserRevoked } from '../auth/sessions';
import { raiseSecurityAlert } from '../auth/security-alerts';
import { base32Encode, generateTotpSecret, otpauthUri, verifyTotp } from '../auth/totp';
import type { ServerContext } from '../context';
import { fieldAad, type FieldDecryptResult } from '../crypto/field-cipher';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { AppError, badRequest, conflict, mfaInvalid, mfaReplayed, notFound, unauthenticated, zodIssues } from '../errors';

/**
 * The user service behind the admin CLI and sign-in. Every change writes its audit entry in
 * the same transaction. Passwords are stored only as argon2id hashes and TOTP seeds only
 * field-encrypted, bound to the user's row (ASVS 2.4.1, 2.8.2).
 */

export type UserRow = Selectable<Database['users']>;

export const totpIssuer = 'Depotline';
export const totpSecretAad = (userId: string) => fieldAad('users', 'totp_secret', userId);

export function toUserSummary(row: Pick<UserRow, 'id' | 'username' | 'display_name' | 'totp_enrolled_at'>): UserSummary {
  return { id: row.id, username: row.username, displayName: row.display_name, mfaEnrolled: row.totp_enrolled_at !== null };
}

/** Usernames are stored lower-case; lookups fold case so `Ana` finds `ana`. */
export async function findUserByUsername(ctx: ServerContext, username: string): Promise<UserRow | null> {
  const folded = username.trim().toLowerCase();
  if (!Username.safeParse(folded).success) return null;
  return (await ctx.db.selectFrom('users').selectAll().where('username', '=', folded).executeTakeFirst()) ?? null;
}

export async function findUserById(ctx: ServerContext, userId: string): Promise<UserRow | null> {
  return (await ctx.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst()) ?? null;
}

async function requireUser(trx: Db, userId: string): Promise<UserRow> {
  const row = await trx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  if (!row) throw notFound('The user');
  return row;
}

const isUniqueViolation = (err: unknown) => {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
};

/** A display name as stored: trimmed, 1 to 200 characters; null when it is not one. */
export function cleanDisplayName(displayName: string): string | null {
  const trimmed = displayName.trim();
  return trimmed.length === 0 || trimmed.length > 200 ? null : trimmed;
}

/**
 * Writes a new user row and its audit entry inside the caller's transaction. The username and
 * display name are already checked and the password already hashed (hashing takes a quarter
 * second: a bulk import does it before the transaction, not inside it).
 */
export async function insertUserIn(
  trx: Db, actor: AuditActor, input: { id: string; username: string; displayName: string; passwordHash: string; mustChangePassword?: boolean }, now: number,
  details: Record<string, unknown> = {},
): Promise<UserSummary> {
  const { id, username, displayName } = input;
  const taken = await trx.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
  if (taken) throw conflict(`The username ${username} is taken.`);
  await trx.insertInto('users').values({
    id, username, display_name: displayName, password_hash: input.passwordHash, totp_secret_enc: null, totp_enrolled_at: null,
    totp_last_step: null, failed_logins: 0, locked_until: null, disabled_at: null, created_at: now,
    ...(input.mustChangePassword ? { must_change_password: 1 } : {}),
  }).execute();
  await appendAudit(trx, actor, { action: 'user.create', outcome: 'ok', targetType: 'user', targetId: id, details: { username, displayName, ...details } }, now);
  return { id, username, displayName, mfaEnrolled: false };
}

export async function createUser(
  ctx: ServerContext,
  actor: AuditActor,
  input: { username: string; displayName: string; password: string },
): Promise<UserSummary> {
  const parsed = Username.safeParse(input.username.trim().toLowerCase());
  if (!parsed.success) throw badRequest(zodIssues(parsed.error).map((l) => `username${l.slice(l.indexOf(':'))}`));
  const username = parsed.data;
  const displayName = cleanDisplayName(input.displayName);
  if (displayName === null) throw badRequest(['displayName: 1 to 200 characters']);
  checkNewPassword(input.password, { username, displayName });
  const passwordHash = await hashPassword(input.password);
  const id = crypto.randomUUID();
  try {
    return await ctx.db.transaction().execute((trx) => insertUserIn(trx, actor, { id, username, displayName, passwordHash }, ctx.now()));
  } catch (err) {
    // Two concurrent creates of one name: the unique index decides, the loser gets a conflict.
    if (!(err instanceof AppError) && isUniqueViolation(err)) throw conflict(`The username ${username} is taken.`);
    throw err;
  }
}

/**
 * Why a user's username may not change, or null when it may: only an account that has never
 * signed in. Each desktop keeps its offline profile (the encrypted database with edits not yet
 * synced) under the server and the username, and security keys and authenticator apps show
 * the name they were registered with; after a rename the desk would open a new, empty profile
 * and leave the old one, and its unsynced edits, behind. Sessions, grants and the audit log
 * refer to the user's id, so for a fresh account (a typo in an import) nothing else holds the name.
 */
export async function usernameChangeRefusal(db: Db, userId: string): Promise<string | null> {
  const [devices, sessions, keys] = await Promise.all([
    db.selectFrom('user_devices').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow(),
    db.selectFrom('sessions').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow(),
    db.selectFrom('webauthn_credentials').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow(),
  ]);
  const used = Number(devices.n) + Number(sessions.n) + Number(keys.n);
  if (used === 0) return null;
  return 'the account has signed in before: each desktop keeps its offline profile (with any edits not yet synced) under the username, '
    + 'so a new username would leave that profile behind. Change the display name only, or create a new account and disable this one';
}

/**
 * Renames a user: the display name always may change; the username only while
 * `usernameChangeRefusal` allows it. Audited with the old and new values. Returns what changed.
 */
export async function renameUser(
  ctx: ServerContext, actor: AuditActor, userId: string, change: { displayName?: string; username?: string },
): Promise<{ user: UserRow; changed: ('username' | 'displayName')[] }> {
  let username: string | undefined;
  if (change.username !== undefined) {
    const parsed = Username.safeParse(change.username.trim().toLowerCase());
    if (!parsed.success) throw badRequest(zodIssues(parsed.error).map((l) => `username${l.slice(l.indexOf(':'))}`));
    username = parsed.data;
  }
  let displayName: string | undefined;
  if (change.displayName !== undefined) {
    const cleaned = cleanDisplayName(change.displayName);
    if (cleaned === null) throw badRequest(['displayName: 1 to 200 characters']);
    displayName = cleaned;
  }
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const now = ctx.now();
      const before = await requireUser(trx, userId);
      const changed: ('username' | 'displayName')[] = [];
      if (username !== undefined && username !== before.username) {
        const refusal = await usernameChangeRefusal(trx, userId);
        if (refusal !== null) throw conflict(`The username of ${before.username} cannot change: ${refusal}.`);
        const taken = await trx.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
        if (taken) throw conflict(`The username ${username} is taken.`);
        changed.push('username');
      }
      if (displayName !== undefined && displayName !== before.display_name) changed.push('displayName');
      if (changed.length === 0) return { user: before, changed };
      const next = { username: changed.includes('username') ? username! : before.username, display_name: changed.includes('displayName') ? displayName! : before.display_name };
      await trx.updateTable('users').set(next).where('id', '=', userId).execute();
      await appendAudit(trx, actor, {
        action: 'user.rename', outcome: 'ok', targetType: 'user', targetId: userId,
        details: Object.fromEntries(changed.map((field) => field === 'username'
          ? ['username', { from: before.username, to: next.username }]
          : ['displayName', { from: before.display_name, to: next.display_name }])),
      }, now);
      return { user: { ...before, ...next }, changed };
    });
  } catch (err) {
    if (!(err instanceof AppError) && isUniqueViolation(err)) throw conflict(`The username ${username} is taken.`);
    throw err;
  }
}

/**
 * Disables a user inside the caller's transaction: sign-in refuses them, their access tokens
 * stop working at once (access-tokens.ts checks `disabled_at`) and their sessions are revoked
 * so re-enabling does not bring old devices back.
 */
export async function disableUserIn(trx: Db, actor: AuditActor, userId: string, reason: string, now: number): Promise<void> {
  const user = await requireUser(trx, userId);
  if (user.disabled_at !== null) return;
  await trx.updateTable('users').set({ disabled_at: now }).where('id', '=', userId).execute();
  const sessionsRevoked = await markSessionsOfUserRevoked(trx, userId, 'user_disabled', now);
  await appendAudit(trx, actor, { action: 'user.disable', outcome: 'ok', targetType: 'user', targetId: userId, details: { reason, sessionsRevoked } }, now);
}

export async function disableUser(ctx: ServerContext, actor: AuditActor, userId: string, reason = 'disabled by an administrator'): Promise<void> {
  await ctx.db.transaction().execute((trx) => disableUserIn(trx, actor, userId, reason, ctx.now()));
}

/** Re-enables a user and clears failed sign-ins (after the NIST 100-failure disable, say). */
export async function enableUser(ctx: ServerContext, actor: AuditActor, userId: string): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const user = await requireUser(trx, userId);
    if (user.disabled_at === null && user.failed_logins === 0 && user.locked_until === null) return;
    await trx.updateTable('users').set({ disabled_at: null, failed_logins: 0, locked_until: null }).where('id', '=', userId).execute();
    await appendAudit(trx, actor, { action: 'user.enable', outcome: 'ok', targetType: 'user', targetId: userId }, now);
  });
}

/** Removes the user's authenticator; their next sign-in enrolls a new one if policy needs it. */
export async function resetMfa(ctx: ServerContext, actor: AuditActor, userId: string): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const user = await requireUser(trx, userId);
    await trx.updateTable('users').set({ totp_secret_enc: null, totp_enrolled_at: null, totp_last_step: null }).where('id', '=', userId).execute();
    await appendAudit(trx, actor, {
      action: 'mfa.reset', outcome: 'ok', targetType: 'user', targetId: userId, details: { wasEnrolled: user.totp_enrolled_at !== null },
    }, now);
  });
}

/**
 * The user's TOTP seed (base32) as decrypted, or null when none is enrolled. A seed that does not
 * decrypt comes back as the failure: auth/totp-seed.ts refuses the sign-in and reports it.
 */
export function readTotpSecret(ctx: ServerContext, user: Pick<UserRow, 'id' | 'totp_secret_enc' | 'totp_enrolled_at'>): FieldDecryptResult | null {
  if (user.totp_enrolled_at === null || user.totp_secret_enc === null) return null;
  return ctx.cipher.tryDecrypt(user.totp_secret_enc, totpSecretAad(user.id));
}

/**
 * Starts a TOTP enrollment: a fresh 160-bit seed, its otpauth URI, and a 10-minute
 * enrollment token that carries the encrypted seed (see enrollment-token.ts). Nothing is
 * stored until `confirmTotpEnrollment`.
 */
export async function beginTotpEnrollment(ctx: ServerContext, userId: string, binding: EnrollmentBinding): Promise<MfaEnrollment> {
  const user = await findUserById(ctx, userId);
  if (!user || user.disabled_at !== null) throw notFound('The user');
  if (user.totp_enrolled_at !== null) throw conflict('An authenticator is already set up; ask an administrator to reset it first.');
  const secretBase32 = base32Encode(generateTotpSecret());
  const secretEnc = ctx.cipher.encrypt(secretBase32, totpSecretAad(userId));
  const enrollmentToken = await issueEnrollmentToken(ctx, { userId, secretEnc, binding });
  return { enrollmentToken, otpauthUri: otpauthUri({ issuer: totpIssuer, account: user.username, secret: secretBase32 }), secretBase32 };
}

/**
 * Completes an enrollment once the user shows a valid code for the pending seed. The code's
 * step is stored as the last accepted one, so the same code cannot also sign in (ASVS 2.8.4).
 * Only an unenrolled user can be enrolled: a second confirmation (or a stale token after
 * another enrollment) is a conflict, never a silent seed swap.
 */
export async function confirmTotpEnrollment(
  ctx: ServerContext,
  input: { enrollmentToken: string; code: string },
  origin: { deviceId: string | null; ip: string | null; binding: EnrollmentBinding },
  onWrongCode: (user: UserRow) => Promise<void>,
): Promise<UserRow> {
  const invalid = () => unauthenticated('The MFA enrollment is invalid or has expired; sign in again.');
  const claims = await verifyEnrollmentToken(ctx, input.enrollmentToken);
  const bound = claims.binding;
  const expected = origin.binding;
  // An enrollment is confirmed only where it was started: the signing-in device, or the session.
  if (bound.purpose !== expected.purpose) throw invalid();
  if (bound.purpose === 'sign_in' && expected.purpose === 'sign_in' && bound.deviceId !== expected.deviceId) throw invalid();
  if (bound.purpose === 'add_factor' && expected.purpose === 'add_factor' && bound.sessionId !== expected.sessionId) throw invalid();
  const user = await findUserById(ctx, claims.userId);
  if (!user || user.disabled_at !== null) throw invalid();
  if (user.totp_enrolled_at !== null) throw conflict('An authenticator is already set up for this account.');
  let secret: string;
  try {
    // The seed's ciphertext is bound to the user's row: it cannot be moved to another user.
    secret = ctx.cipher.decrypt(claims.secretEnc, totpSecretAad(user.id));
  } catch {
    throw invalid();
  }
  const now = ctx.now();
  const check = verifyTotp(secret, input.code, now, null);
  if (!check.ok) {
    // Wrong codes here count like wrong codes at sign-in.
    await onWrongCode(user);
    throw check.reason === 'replayed' ? mfaReplayed() : mfaInvalid();
  }
  const actor: AuditActor = { userId: user.id, label: user.username, deviceId: origin.deviceId, ip: origin.ip };
  // Encrypted again rather than copied from the token: under the current key, should the
  // field key have been rotated while the enrollment was pending.
  const secretEnc = ctx.cipher.encrypt(secret, totpSecretAad(user.id));
  await ctx.db.transaction().execute(async (trx) => {
    const r = await trx.updateTable('users')
      .set({ totp_secret_enc: secretEnc, totp_enrolled_at: now, totp_last_step: check.step })
      .where('id', '=', user.id)
      .where('totp_enrolled_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw conflict('An authenticator is already set up for this account.');
    await appendAudit(trx, actor, { action: 'mfa.enroll', outcome: 'ok', targetType: 'user', targetId: user.id, details: { purpose: bound.purpose } }, now);
    await raiseSecurityAlert(trx, { userId: user.id, kind: 'factor_added', details: { factor: 'totp' }, actor }, now);
  });
  return { ...user, totp_secret_enc: secretEnc, totp_enrolled_at: now, totp_last_step: check.step };
}
