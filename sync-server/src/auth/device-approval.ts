import crypto from 'node:crypto';
import type { LoginResponse, SignInPollResponse, SignInRequest } from '@depotline/shared';
import { loadAccessProfile } from '../access/access-profile';
import { grantsFallUnderRoles } from '../access/role-policy';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError, conflict, mfaReplayed, notFound, rateLimited, unauthenticated } from '../errors';
import type { UserRow } from '../users/users';
import { type DevicePresented, ensureDeviceRow, findDevice, isKnownDevice } from './devices';

/**
 * Device approval: a sign-in from a device the user has never used is held, after the password
 * and second factor have been proven, until one of the user's trusted devices or an admin of
 * their locations approves it (policy by role, DEVICE_APPROVAL_ROLES, which a group holding what
 * only those roles hold falls under too: access/role-policy.ts). The held device learns
 * the decision by polling with a token only it holds, and receives its session once.
 *
 * A new account's first device has nobody to approve it and is trusted at its first complete
 * sign-in; from then on, new devices wait. Requests are bounded and coalesced, so a sign-in
 * retried in a loop neither floods the approvers nor grows the table.
 */

export const signInRequestTtlMs = 10 * 60_000;
/** Pending requests one user may have at once (from different devices). */
export const maxPendingPerUser = 3;

const hashPollToken = (token: string) => crypto.createHash('sha256').update(token, 'utf8').digest('hex');

type HeldAnswer = Extract<LoginResponse, { status: 'approval_required' }>;

/**
 * Called right before a session would be created. Returns the held answer when policy holds
 * this sign-in (the user's grants in force fall under DEVICE_APPROVAL_ROLES), null when it may
 * go ahead, and refuses a device past the user's device limit.
 */
export async function holdForApproval(
  ctx: ServerContext,
  user: UserRow,
  device: DevicePresented,
  how: { method: string; totpStep: number | null },
): Promise<HeldAnswer | null> {
  const row = await findDevice(ctx.db, user.id, device.deviceId);
  if (isKnownDevice(row, device.deviceSecret)) return null;
  const actor: AuditActor = { userId: user.id, label: user.username, deviceId: device.deviceId, ip: device.ip };
  if (row && row.trusted_at !== null && row.revoked_at === null && row.secret_hash !== null) {
    // A trusted device's id without that device's secret is another device borrowing the id (ids
    // show in logs and lists): it would inherit the trust, skip approval and the new-device
    // alert, and take over the row. Refused and audited; the real device is unaffected.
    await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, {
      action: 'auth.login', outcome: 'denied', targetType: 'user', targetId: user.id, details: { reason: 'device_secret_mismatch' },
    }, ctx.now()));
    throw unauthenticated('This device could not be confirmed. Sign in from a device of your own.');
  }
  // Every trusted device counts here, this id's own row too when it is trusted without a secret
  // (a client that keeps none): it is not proven to be that device either.
  const others = await ctx.db.selectFrom('user_devices').select(['id', 'device_id']).where('user_id', '=', user.id)
    .where('trusted_at', 'is not', null).where('revoked_at', 'is', null).execute();
  if (others.length >= ctx.config.maxDevicesPerUser) {
    throw new AppError('device_limit_reached', 409, `This account already has ${others.length} trusted devices; remove one before signing in on another.`);
  }
  if (others.length === 0) return null;
  if (!grantsFallUnderRoles(await loadAccessProfile(ctx.db, user.id, ctx.now()), ctx.config.deviceApprovalRoles)) return null;

  const pollToken = crypto.randomBytes(32).toString('base64url');
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    // The held sign-in spends its TOTP code now, so the same code cannot start another one.
    if (how.totpStep !== null) {
      const stored = await trx.updateTable('users').set({ totp_last_step: how.totpStep }).where('id', '=', user.id)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', how.totpStep!)])).executeTakeFirst();
      if (Number(stored.numUpdatedRows) !== 1) {
        await appendAudit(trx, actor, { action: 'mfa.replay', outcome: 'denied', targetType: 'user', targetId: user.id }, now);
        return { kind: 'replayed' as const };
      }
    }
    const deviceRow = await ensureDeviceRow(trx, user.id, device, now);
    const pending = await trx.selectFrom('sign_in_requests').select(['id', 'device_row_id']).where('user_id', '=', user.id)
      .where('status', '=', 'pending').where('expires_at', '>', now).execute();
    const same = pending.find((p) => p.device_row_id === deviceRow.id);
    const expiresAt = now + signInRequestTtlMs;
    if (same) {
      // Coalesced: the same device asking again renews its request (and its poll token).
      await trx.updateTable('sign_in_requests').set({ poll_hash: hashPollToken(pollToken), expires_at: expiresAt, ip: device.ip, method: how.method })
        .where('id', '=', same.id).execute();
      return { kind: 'held' as const, requestId: same.id, expiresAt };
    }
    if (pending.length >= maxPendingPerUser) return { kind: 'flooded' as const };
    const requestId = crypto.randomUUID();
    await trx.insertInto('sign_in_requests').values({
      id: requestId, user_id: user.id, device_row_id: deviceRow.id, ip: device.ip, method: how.method, requested_at: now,
      expires_at: expiresAt, status: 'pending', decided_at: null, decided_by: null, poll_hash: hashPollToken(pollToken),
    }).execute();
    await appendAudit(trx, actor, {
      action: 'device.approval_requested', outcome: 'ok', targetType: 'sign_in_request', targetId: requestId,
      details: { deviceName: device.deviceName, platform: device.platform ?? null },
    }, now);
    return { kind: 'held' as const, requestId, expiresAt };
  });
  if (outcome.kind === 'replayed') throw mfaReplayed();
  if (outcome.kind === 'flooded') {
    await ctx.db.transaction().execute((trx) =>
      appendAudit(trx, actor, { action: 'device.approval_requested', outcome: 'denied', targetType: 'user', targetId: user.id, details: { reason: 'too_many_pending' } }, ctx.now()));
    throw rateLimited(60);
  }
  return { status: 'approval_required', approval: { requestId: outcome.requestId, pollToken, expiresAt: outcome.expiresAt } };
}

/** The held request, checked against the poll token and the device that started it. */
async function requestForPoll(db: Db, input: { requestId: string; pollToken: string; deviceId: string }) {
  const row = await db.selectFrom('sign_in_requests').innerJoin('user_devices', 'user_devices.id', 'sign_in_requests.device_row_id')
    .select(['sign_in_requests.id', 'sign_in_requests.user_id', 'sign_in_requests.status', 'sign_in_requests.expires_at',
      'sign_in_requests.poll_hash', 'sign_in_requests.method', 'user_devices.device_id'])
    .where('sign_in_requests.id', '=', input.requestId).executeTakeFirst();
  const presented = Buffer.from(hashPollToken(input.pollToken), 'hex');
  const valid = row !== undefined && row.device_id === input.deviceId
    && crypto.timingSafeEqual(presented, Buffer.from(row.poll_hash, 'hex'));
  // One answer for an unknown request, a wrong token and another device: nothing to learn.
  if (!valid) throw unauthenticated('The sign-in request is not valid; sign in again.');
  return row;
}

/**
 * The held device asks how its request stands. Once approved, the first poll takes the request
 * (approved -> used, conditionally, so two polls cannot both get a session) and `complete` opens
 * the session; every later poll is refused.
 */
export async function pollSignInRequest(
  ctx: ServerContext,
  input: { requestId: string; pollToken: string; deviceId: string },
  complete: (userId: string, method: string) => Promise<LoginResponse>,
): Promise<SignInPollResponse> {
  const row = await requestForPoll(ctx.db, input);
  const now = ctx.now();
  if (row.status === 'denied') return { status: 'denied' };
  if (row.status === 'used') throw unauthenticated('The sign-in request is not valid; sign in again.');
  // An approval is redeemed within the request's life, like the request itself.
  if (row.status === 'pending' || row.expires_at <= now) return { status: row.expires_at > now ? 'pending' : 'expired' };
  const taken = await ctx.db.updateTable('sign_in_requests').set({ status: 'used' })
    .where('id', '=', row.id).where('status', '=', 'approved').executeTakeFirst();
  if (Number(taken.numUpdatedRows) !== 1) throw unauthenticated('The sign-in request is not valid; sign in again.');
  return complete(row.user_id, `${row.method}+approved`);
}

export function presentSignInRequest(r: {
  id: string; user_id: string; username: string; name: string | null; platform: string | null; ip: string | null;
  requested_at: number; expires_at: number; status: SignInRequest['status'];
}): SignInRequest {
  return {
    id: r.id, userId: r.user_id, username: r.username, deviceName: r.name, platform: r.platform, ip: r.ip,
    requestedAt: Number(r.requested_at), expiresAt: Number(r.expires_at), status: r.status,
  };
}

/** Pending, unexpired requests of the given users, newest first. */
export async function pendingSignInRequests(db: Db, userIds: readonly string[], now: number): Promise<SignInRequest[]> {
  if (userIds.length === 0) return [];
  const rows = await db.selectFrom('sign_in_requests')
    .innerJoin('user_devices', 'user_devices.id', 'sign_in_requests.device_row_id')
    .innerJoin('users', 'users.id', 'sign_in_requests.user_id')
    .select(['sign_in_requests.id', 'sign_in_requests.user_id', 'users.username', 'user_devices.name', 'user_devices.platform',
      'sign_in_requests.ip', 'sign_in_requests.requested_at', 'sign_in_requests.expires_at', 'sign_in_requests.status'])
    .where('sign_in_requests.user_id', 'in', [...userIds]).where('sign_in_requests.status', '=', 'pending')
    .where('sign_in_requests.expires_at', '>', now)
    .orderBy('sign_in_requests.requested_at', 'desc').execute();
  return rows.map(presentSignInRequest);
}

/**
 * Records a decision on a pending request. Who may decide is settled by the caller (the user
 * from a trusted device, or an admin over every location of the user); here the request must
 * still be pending and unexpired, and the decision is audited in the same transaction.
 */
export async function decideSignInRequest(
  ctx: ServerContext,
  actor: AuditActor,
  requestId: string,
  approve: boolean,
): Promise<SignInRequest> {
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const decided = await trx.updateTable('sign_in_requests')
      .set({ status: approve ? 'approved' : 'denied', decided_at: now, decided_by: actor.userId ?? actor.label })
      .where('id', '=', requestId).where('status', '=', 'pending').where('expires_at', '>', now).executeTakeFirst();
    if (Number(decided.numUpdatedRows) !== 1) throw conflict('That sign-in request was already decided or has expired.');
    const row = await trx.selectFrom('sign_in_requests')
      .innerJoin('user_devices', 'user_devices.id', 'sign_in_requests.device_row_id')
      .innerJoin('users', 'users.id', 'sign_in_requests.user_id')
      .select(['sign_in_requests.id', 'sign_in_requests.user_id', 'users.username', 'user_devices.name', 'user_devices.platform',
        'sign_in_requests.ip', 'sign_in_requests.requested_at', 'sign_in_requests.expires_at', 'sign_in_requests.status'])
      .where('sign_in_requests.id', '=', requestId).executeTakeFirst();
    if (!row) throw notFound('The sign-in request');
    await appendAudit(trx, actor, {
      action: approve ? 'device.approve' : 'device.deny', outcome: 'ok', targetType: 'sign_in_request', targetId: requestId,
      details: { userId: row.user_id, deviceName: row.name },
    }, now);
    return presentSignInRequest(row);
  });
}

/** The owner of a request, for deciding who may decide it; null when there is no such request. */
export async function ownerOfSignInRequest(db: Db, requestId: string): Promise<{ userId: string; deviceRowId: string } | null> {
  const row = await db.selectFrom('sign_in_requests').select(['user_id', 'device_row_id']).where('id', '=', requestId).executeTakeFirst();
  return row ? { userId: row.user_id, deviceRowId: row.device_row_id } : null;
}
