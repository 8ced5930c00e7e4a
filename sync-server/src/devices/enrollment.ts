import crypto from 'node:crypto';
import {
  deviceSignInMessage, type DeviceChallenge, type DeviceEnrollRequest, type DeviceProof, type EnrolledDevice,
} from '@depotline/shared';
import type { Selectable } from 'kysely';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import { revokeDeviceIn } from '../auth/devices';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { badRequest, forbidden, notFound, unauthenticated } from '../errors';

/**
 * Device enrollment: a console machine proves at every sign-in that it holds the private key it
 * registered with a one-time token, where the server requires it (REQUIRE_ENROLLED_DEVICES,
 * docs/security-model.md "Device enrollment").
 *
 * - Tokens are 32 random bytes shown once; only their SHA-256 is stored (a token is a one-time,
 *   high-entropy bearer secret, so a fast hash is enough: there is nothing to brute-force).
 *   Spending one is a conditional update, so two registrations with one token cannot both win.
 * - The device key is Ed25519; the server keeps the public key only.
 * - A challenge is single-use (spent by a conditional update before the signature is checked),
 *   lives `challengeTtlMs`, belongs to one enrolled device, and the signed message names the
 *   username and the profile's device id of the sign-in it goes with.
 * - An enrolled device is joined to the trusted-devices rows (`user_devices`) it signed in for
 *   (`enrolled_device_users`): revoking the machine revokes each of those rows with the existing
 *   `revokeDeviceIn`, which ends their sessions with a wipe (`session:ended`).
 */

export const tokenPrefix = 'dle_';
export const challengeTtlMs = 60_000;
export const maxTokensPerCommand = 500;

type DeviceRow = Selectable<Database['enrolled_devices']>;

const sha256 = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

export function presentEnrolledDevice(row: DeviceRow): EnrolledDevice {
  return {
    id: row.id, name: row.name, platform: row.platform, locationIds: JSON.parse(row.location_ids) as string[],
    enrolledAt: Number(row.enrolled_at), lastSeenAt: row.last_seen_at === null ? null : Number(row.last_seen_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export interface IssuedToken { id: string; token: string; locationIds: string[]; expiresAt: number }

/** Issues `count` one-time tokens bound to the locations; the tokens themselves are returned once and never stored. */
export async function createEnrollmentTokens(
  ctx: ServerContext, actor: AuditActor, input: { locationIds: string[]; expiresAt: number; count: number },
): Promise<IssuedToken[]> {
  const now = ctx.now();
  const problems: string[] = [];
  const locationIds = [...new Set(input.locationIds)];
  if (locationIds.length === 0) problems.push('locationIds: name at least one location');
  if (input.expiresAt <= now) problems.push('expiresAt: must be in the future');
  if (!Number.isInteger(input.count) || input.count < 1 || input.count > maxTokensPerCommand) problems.push(`count: 1 to ${maxTokensPerCommand}`);
  if (problems.length > 0) throw badRequest(problems);
  const known = locationIds.length === 0 ? [] : await ctx.db.selectFrom('locations').select('id').where('id', 'in', locationIds).execute();
  const missing = locationIds.filter((id) => !known.some((k) => k.id === id));
  if (missing.length > 0) throw badRequest([`locationIds: no location ${missing.join(', ')}`]);
  const issued: IssuedToken[] = Array.from({ length: input.count }, () => ({
    id: crypto.randomUUID(), token: tokenPrefix + crypto.randomBytes(32).toString('base64url'), locationIds, expiresAt: input.expiresAt,
  }));
  await ctx.db.transaction().execute(async (trx) => {
    await trx.insertInto('enrollment_tokens').values(issued.map((t) => ({
      id: t.id, token_hash: sha256(t.token), location_ids: JSON.stringify(locationIds), created_at: now, created_by: actor.label,
      expires_at: t.expiresAt, used_at: null, used_by_device: null,
    }))).execute();
    await appendAudit(trx, actor, {
      action: 'device.enroll_token_create', outcome: 'ok', targetType: 'enrollment_token', targetId: null,
      details: { tokenIds: issued.map((t) => t.id), locationIds, expiresAt: input.expiresAt },
    }, now);
  });
  return issued;
}

/** Registers a device's public key with a token; the token is spent whether or not anything after it fails. */
export async function enrollDevice(ctx: ServerContext, input: DeviceEnrollRequest, ip: string | null): Promise<EnrolledDevice> {
  const publicKey = parsePublicKey(input.publicKey);
  const now = ctx.now();
  const invalid = () => unauthenticated('The enrollment token is not valid: it is unknown, already used or expired. Ask IT for a new one.');
  const actor: AuditActor = { userId: null, label: `device:${input.name.slice(0, 64)}`, deviceId: null, ip };
  const id = crypto.randomUUID();
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const spent = await trx.updateTable('enrollment_tokens').set({ used_at: now, used_by_device: id })
      .where('token_hash', '=', sha256(input.token)).where('used_at', 'is', null).where('expires_at', '>', now)
      .returning(['id', 'location_ids']).executeTakeFirst();
    if (!spent) return null;
    const taken = await trx.selectFrom('enrolled_devices').select('id').where('public_key', '=', publicKey.encoded).executeTakeFirst();
    if (taken) return 'key_taken' as const;
    const row: DeviceRow = {
      id, public_key: publicKey.encoded, name: input.name, platform: input.platform ?? null, location_ids: spent.location_ids,
      token_id: spent.id, enrolled_at: now, last_seen_at: null, revoked_at: null, revoked_by: null,
    };
    await trx.insertInto('enrolled_devices').values(row).execute();
    await appendAudit(trx, actor, {
      action: 'device.enroll', outcome: 'ok', targetType: 'enrolled_device', targetId: id,
      details: { tokenId: spent.id, name: input.name, platform: input.platform ?? null, locationIds: JSON.parse(spent.location_ids) as unknown },
    }, now);
    return row;
  });
  if (outcome === 'key_taken') throw badRequest(['publicKey: this key is already enrolled; generate a new key pair']);
  if (!outcome) {
    await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, { action: 'device.enroll', outcome: 'denied', targetType: 'enrollment_token', details: { reason: 'invalid_token' } }, now));
    throw invalid();
  }
  return presentEnrolledDevice(outcome);
}

function parsePublicKey(encoded: string): { key: crypto.KeyObject; encoded: string } {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: Buffer.from(encoded, 'base64url'), format: 'der', type: 'spki' });
  } catch {
    throw badRequest(['publicKey: not an SPKI DER public key']);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw badRequest(['publicKey: must be an Ed25519 key']);
  return { key, encoded: key.export({ format: 'der', type: 'spki' }).toString('base64url') };
}

/** A fresh challenge for an enrolled, unrevoked device. Unknown and revoked devices get the same refusal. */
export async function issueDeviceChallenge(ctx: ServerContext, enrolledDeviceId: string): Promise<DeviceChallenge> {
  const now = ctx.now();
  const device = await ctx.db.selectFrom('enrolled_devices').select(['id', 'revoked_at']).where('id', '=', enrolledDeviceId).executeTakeFirst();
  if (!device || device.revoked_at !== null) throw notEnrolled();
  const challenge = { challengeId: crypto.randomUUID(), nonce: crypto.randomBytes(32).toString('base64url'), expiresAt: now + challengeTtlMs };
  await ctx.db.transaction().execute(async (trx) => {
    // Spent and expired challenges are of no use to anyone: each issue clears the old ones.
    await trx.deleteFrom('device_challenges').where('expires_at', '<', now - challengeTtlMs).execute();
    await trx.insertInto('device_challenges').values({
      id: challenge.challengeId, enrolled_device_id: device.id, nonce: challenge.nonce, created_at: now, expires_at: challenge.expiresAt, used_at: null,
    }).execute();
  });
  return challenge;
}

const notEnrolled = () => forbidden('This computer is not an enrolled device, or its enrollment was revoked: this server accepts sign-ins only from enrolled devices. Ask IT to enroll it.');

/**
 * Checks the device proof of a sign-in where enrolled devices are required: spends the
 * challenge (single use), then checks the device is enrolled and unrevoked and the signature
 * is its key's over this sign-in's message. Refusals are audited and throw `forbidden`.
 * Returns the enrolled device's id.
 */
export async function verifyDeviceProof(
  ctx: ServerContext, actor: AuditActor, signIn: { username: string; deviceId: string; deviceProof?: DeviceProof | undefined },
): Promise<string> {
  const now = ctx.now();
  const refuse = async (reason: string, details: Record<string, unknown> = {}) => {
    await ctx.db.transaction().execute((trx) =>
      appendAudit(trx, actor, { action: 'auth.login', outcome: 'denied', targetType: 'user', targetId: actor.userId, details: { reason, ...details } }, now));
    return notEnrolled();
  };
  const proof = signIn.deviceProof;
  if (!proof) throw await refuse('device_not_enrolled');
  const spent = await ctx.db.updateTable('device_challenges').set({ used_at: now })
    .where('id', '=', proof.challengeId).where('used_at', 'is', null).where('expires_at', '>', now)
    .returning(['enrolled_device_id', 'nonce']).executeTakeFirst();
  if (!spent) throw await refuse('device_challenge_invalid');
  const device = await ctx.db.selectFrom('enrolled_devices').selectAll().where('id', '=', spent.enrolled_device_id).executeTakeFirst();
  if (!device || device.revoked_at !== null) throw await refuse('device_revoked', { enrolledDeviceId: spent.enrolled_device_id });
  const message = Buffer.from(deviceSignInMessage({ challengeId: proof.challengeId, nonce: spent.nonce, username: signIn.username, deviceId: signIn.deviceId }), 'utf8');
  const key = crypto.createPublicKey({ key: Buffer.from(device.public_key, 'base64url'), format: 'der', type: 'spki' });
  const signature = Buffer.from(proof.signature, 'base64url');
  if (!crypto.verify(null, message, key, signature)) throw await refuse('device_signature_invalid', { enrolledDeviceId: device.id });
  await ctx.db.updateTable('enrolled_devices').set({ last_seen_at: now }).where('id', '=', device.id).execute();
  return device.id;
}

/**
 * An enrolled device is bound to its token's locations: a user signs in on it only while they
 * hold a grant in force at one of them (`userLocationIds`, from their access profile). Refusals
 * are audited and throw `forbidden`.
 */
export async function requireUserAtDeviceLocations(ctx: ServerContext, actor: AuditActor, enrolledDeviceId: string, userLocationIds: readonly string[]): Promise<void> {
  const device = await ctx.db.selectFrom('enrolled_devices').select(['location_ids']).where('id', '=', enrolledDeviceId).executeTakeFirst();
  const bound = device ? (JSON.parse(device.location_ids) as string[]) : [];
  if (bound.some((id) => userLocationIds.includes(id))) return;
  await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, {
    action: 'auth.login', outcome: 'denied', targetType: 'user', targetId: actor.userId, details: { reason: 'device_location_mismatch', enrolledDeviceId },
  }, ctx.now()));
  throw forbidden('This computer is enrolled for other locations than yours: sign in on a computer of your depot, or ask IT.');
}

/**
 * Inside a completing sign-in's transaction, where enrolled devices are required: joins the
 * user's device row to the enrolled device that proved itself for it, and refuses when that
 * device was revoked in the meantime (a held sign-in completing after the revocation).
 */
export async function recordEnrolledSignIn(trx: Db, enrolledDeviceId: string, userId: string, deviceId: string, now: number): Promise<void> {
  const device = await trx.selectFrom('enrolled_devices').select('revoked_at').where('id', '=', enrolledDeviceId).executeTakeFirst();
  if (!device || device.revoked_at !== null) throw notEnrolled();
  await trx.insertInto('enrolled_device_users').values({ enrolled_device_id: enrolledDeviceId, user_id: userId, device_id: deviceId, first_at: now, last_at: now })
    .onConflict((oc) => oc.columns(['enrolled_device_id', 'user_id', 'device_id']).doUpdateSet({ last_at: now })).execute();
}

/**
 * The enrolled device a completing sign-in proved itself with, for flows that complete later
 * (an authenticator confirmed, a held sign-in approved, a reset password changed): the device
 * row's most recent proof within `heldFor` ms. Null when there is none.
 */
export async function provenEnrolledDevice(db: Db, userId: string, deviceId: string, now: number, heldForMs: number): Promise<string | null> {
  const row = await db.selectFrom('enrolled_device_users').innerJoin('enrolled_devices', 'enrolled_devices.id', 'enrolled_device_users.enrolled_device_id')
    .select(['enrolled_device_users.enrolled_device_id as id', 'enrolled_device_users.last_at as at'])
    .where('enrolled_device_users.user_id', '=', userId).where('enrolled_device_users.device_id', '=', deviceId)
    .where('enrolled_devices.revoked_at', 'is', null).orderBy('enrolled_device_users.last_at', 'desc').executeTakeFirst();
  return row && Number(row.at) >= now - heldForMs ? row.id : null;
}

export async function listEnrolledDevices(ctx: ServerContext, options: { includeRevoked: boolean }): Promise<EnrolledDevice[]> {
  let q = ctx.db.selectFrom('enrolled_devices').selectAll().orderBy('enrolled_at').orderBy('id');
  if (!options.includeRevoked) q = q.where('revoked_at', 'is', null);
  return (await q.execute()).map(presentEnrolledDevice);
}

/**
 * Revokes an enrolled device: its challenges and signatures are refused from now on, and every
 * trusted-device row that signed in through it is revoked (auth/devices.ts), which ends those
 * sessions with a wipe at the console's next contact.
 */
export async function revokeEnrolledDevice(ctx: ServerContext, actor: AuditActor, id: string): Promise<{ device: EnrolledDevice; sessionsEnded: number }> {
  const now = ctx.now();
  return ctx.db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('enrolled_devices').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('The enrolled device');
    if (row.revoked_at === null) await trx.updateTable('enrolled_devices').set({ revoked_at: now, revoked_by: actor.label }).where('id', '=', id).execute();
    const users = await trx.selectFrom('enrolled_device_users').innerJoin('user_devices', (j) => j
      .onRef('user_devices.user_id', '=', 'enrolled_device_users.user_id').onRef('user_devices.device_id', '=', 'enrolled_device_users.device_id'))
      .select(['user_devices.id as rowId', 'user_devices.user_id as userId']).where('enrolled_device_users.enrolled_device_id', '=', id).execute();
    let sessionsEnded = 0;
    for (const u of users) sessionsEnded += (await revokeDeviceIn(trx, u.userId, u.rowId, now))?.sessionsEnded ?? 0;
    await appendAudit(trx, actor, {
      action: 'device.revoke_enrolled', outcome: 'ok', targetType: 'enrolled_device', targetId: id,
      details: { name: row.name, sessionsEnded, deviceRows: users.length, alreadyRevoked: row.revoked_at !== null },
    }, now);
    return { device: presentEnrolledDevice({ ...row, revoked_at: row.revoked_at ?? now, revoked_by: row.revoked_by ?? actor.label }), sessionsEnded };
  });
}
