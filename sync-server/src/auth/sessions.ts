import crypto from 'node:crypto';
import type { SessionInfo, SessionTokens } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { type AppError, refreshReused, sessionExpired, sessionRevoked, unauthenticated } from '../errors';
import { issueAccessToken } from './access-tokens';
import { idleLimitForUser, sessionIdleMs } from './session-idle';

/**
 * Sessions: one per signed-in device. A session has an absolute end fixed at creation
 * (SESSION_ABSOLUTE_TIMEOUT_S; refreshing never extends it) and an idle limit measured from
 * `last_seen_at` (NIST SP 800-63B 7.2 at AAL2: <= 12 h absolute per ASVS L2, <= 1 h idle).
 * Refresh tokens rotate on every use and are bound to the device; only their SHA-256 is
 * stored, so a database dump holds no usable token. Revoking only sets `revoked_at`: access
 * tokens are checked against it on every request, and the security watcher (access/) cuts
 * sockets off.
 */

export type SessionRevokeReason =
  | 'logout' | 'revoked_by_user' | 'revoked_by_admin' | 'refresh_reused' | 'device_mismatch'
  | 'password_changed' | 'user_disabled' | 'device_revoked';

export interface DeviceInfo {
  deviceId: string;
  deviceName: string | null;
  ip: string | null;
}

/** 256 bits: unguessable, so the hash needs no salt or slow function. */
const refreshTokenBytes = 32;

export const hashRefreshToken = (token: string) => crypto.createHash('sha256').update(token, 'utf8').digest('hex');

async function insertRefreshToken(trx: Db, sessionId: string, now: number): Promise<string> {
  const token = crypto.randomBytes(refreshTokenBytes).toString('base64url');
  await trx.insertInto('refresh_tokens').values({ token_hash: hashRefreshToken(token), session_id: sessionId, created_at: now, used_at: null }).execute();
  return token;
}

/**
 * Creates a session with its first access and refresh tokens. Runs inside the caller's
 * transaction (sign-in writes the session and its audit entry together).
 */
export async function createSession(ctx: ServerContext, trx: Db, userId: string, device: DeviceInfo): Promise<SessionTokens> {
  const now = ctx.now();
  const sessionId = crypto.randomUUID();
  const expiresAt = now + ctx.config.sessionAbsoluteTimeoutS * 1000;
  await trx.insertInto('sessions').values({
    id: sessionId, user_id: userId, device_id: device.deviceId, device_name: device.deviceName, ip: device.ip,
    created_at: now, last_seen_at: now, expires_at: expiresAt, revoked_at: null, revoke_reason: null,
    idle_timeout_s: await idleLimitForUser(trx, ctx.config, userId, now),
  }).execute();
  const refreshToken = await insertRefreshToken(trx, sessionId, now);
  const access = await issueAccessToken(ctx, { userId, sessionId, deviceId: device.deviceId, sessionEndsAt: expiresAt });
  return { sessionId, accessToken: access.token, accessExpiresAt: access.expiresAt, refreshToken, sessionExpiresAt: expiresAt };
}

type RefreshOutcome = { kind: 'ok'; tokens: SessionTokens } | { kind: 'refused'; error: AppError };

/**
 * Rotates a refresh token (OAuth 2.0 Security BCP, RFC 9700 section 4.14.2): the presented
 * token is spent and a new one returned. A spent token coming back means two parties hold
 * the session's tokens, so the whole session is revoked and the reuse audited. Revocations
 * commit before the error is thrown.
 */
export async function refreshSession(ctx: ServerContext, input: { refreshToken: string; deviceId: string }, ip: string | null): Promise<SessionTokens> {
  const hash = hashRefreshToken(input.refreshToken);
  const outcome = await ctx.db.transaction().execute(async (trx): Promise<RefreshOutcome> => {
    const now = ctx.now();
    const row = await trx
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'refresh_tokens.used_at', 'sessions.id as session_id', 'sessions.user_id', 'sessions.device_id', 'sessions.revoked_at',
        'sessions.expires_at', 'sessions.last_seen_at', 'sessions.idle_timeout_s', 'users.username', 'users.disabled_at',
      ])
      .where('refresh_tokens.token_hash', '=', hash)
      .executeTakeFirst();
    if (!row) return { kind: 'refused', error: unauthenticated('The refresh token is not valid; sign in again.') };
    const actor: AuditActor = { userId: row.user_id, label: row.username, deviceId: input.deviceId, ip };

    const reuse = async (): Promise<RefreshOutcome> => {
      await markSessionRevoked(trx, row.session_id, 'refresh_reused', now);
      await appendAudit(trx, actor, {
        action: 'session.refresh_reused', outcome: 'denied', targetType: 'session', targetId: row.session_id,
        details: { sessionDeviceId: row.device_id },
      }, now);
      return { kind: 'refused', error: refreshReused() };
    };
    if (row.used_at !== null) return reuse();
    if (row.device_id !== input.deviceId) {
      // The token is bound to its device: another device presenting it holds a stolen copy.
      await markSessionRevoked(trx, row.session_id, 'device_mismatch', now);
      await appendAudit(trx, actor, {
        action: 'session.refresh_device_mismatch', outcome: 'denied', targetType: 'session', targetId: row.session_id,
        details: { sessionDeviceId: row.device_id, presentedDeviceId: input.deviceId },
      }, now);
      return { kind: 'refused', error: sessionRevoked() };
    }
    if (row.revoked_at !== null || row.disabled_at !== null) return { kind: 'refused', error: sessionRevoked() };
    if (row.expires_at <= now || row.last_seen_at + sessionIdleMs(ctx.config, row) <= now) {
      return { kind: 'refused', error: sessionExpired() };
    }
    // Conditional on still being unused: of two concurrent refreshes with one token, the
    // second finds it spent (PostgreSQL re-checks the row after the first commits).
    const spent = await trx.updateTable('refresh_tokens').set({ used_at: now }).where('token_hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
    if (Number(spent.numUpdatedRows) !== 1) return reuse();

    const refreshToken = await insertRefreshToken(trx, row.session_id, now);
    // The idle limit follows the user's grants as they are now (a driver given another role gets the longer one).
    const idle_timeout_s = await idleLimitForUser(trx, ctx.config, row.user_id, now);
    await trx.updateTable('sessions').set({ last_seen_at: now, idle_timeout_s, ...(ip ? { ip } : {}) }).where('id', '=', row.session_id).execute();
    const access = await issueAccessToken(ctx, { userId: row.user_id, sessionId: row.session_id, deviceId: row.device_id, sessionEndsAt: row.expires_at });
    return {
      kind: 'ok',
      tokens: { sessionId: row.session_id, accessToken: access.token, accessExpiresAt: access.expiresAt, refreshToken, sessionExpiresAt: row.expires_at },
    };
  });
  if (outcome.kind === 'refused') throw outcome.error;
  return outcome.tokens;
}

/** Sets `revoked_at` unless already set (the first reason is kept). True if it changed. */
export async function markSessionRevoked(trx: Db, sessionId: string, reason: SessionRevokeReason, now: number): Promise<boolean> {
  const r = await trx.updateTable('sessions').set({ revoked_at: now, revoke_reason: reason }).where('id', '=', sessionId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Revokes every open session of a user inside the caller's transaction; returns how many. */
export async function markSessionsOfUserRevoked(trx: Db, userId: string, reason: SessionRevokeReason, now: number): Promise<number> {
  const r = await trx.updateTable('sessions').set({ revoked_at: now, revoke_reason: reason }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Revokes one session and audits it. False when it was already revoked. */
export async function revokeSession(ctx: ServerContext, actor: AuditActor, sessionId: string, reason: SessionRevokeReason): Promise<boolean> {
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const session = await trx.selectFrom('sessions').select(['user_id', 'device_id']).where('id', '=', sessionId).executeTakeFirst();
    if (!session || !(await markSessionRevoked(trx, sessionId, reason, now))) return false;
    await appendAudit(trx, actor, {
      action: 'session.revoke', outcome: 'ok', targetType: 'session', targetId: sessionId,
      details: { reason, userId: session.user_id, sessionDeviceId: session.device_id },
    }, now);
    return true;
  });
}

/** Revokes every open session of a user (ASVS 3.3.3 after a password change, or by an admin). */
export async function revokeAllSessionsOfUser(ctx: ServerContext, actor: AuditActor, userId: string, reason: SessionRevokeReason): Promise<number> {
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const count = await markSessionsOfUserRevoked(trx, userId, reason, now);
    await appendAudit(trx, actor, {
      action: 'session.revoke_all', outcome: 'ok', targetType: 'user', targetId: userId, details: { reason, count },
    }, now);
    return count;
  });
}

export async function findSession(ctx: ServerContext, sessionId: string): Promise<{ id: string; userId: string; revokedAt: number | null } | null> {
  const row = await ctx.db.selectFrom('sessions').select(['id', 'user_id', 'revoked_at']).where('id', '=', sessionId).executeTakeFirst();
  return row ? { id: row.id, userId: row.user_id, revokedAt: row.revoked_at } : null;
}

/** The user's sessions that can still be used: not revoked, expired or idle (ASVS 3.3.4). */
export async function listSessions(ctx: ServerContext, userId: string, currentSessionId: string | null): Promise<SessionInfo[]> {
  const now = ctx.now();
  const rows = await ctx.db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where('last_seen_at', '>', now - ctx.config.sessionIdleTimeoutS * 1000)
    .orderBy('last_seen_at', 'desc')
    .orderBy('id')
    .execute();
  return rows.filter((r) => r.last_seen_at + sessionIdleMs(ctx.config, r) > now).map((r) => ({
    id: r.id, userId: r.user_id, deviceId: r.device_id, deviceName: r.device_name, ip: r.ip,
    createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at, current: r.id === currentSessionId,
  }));
}
