import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { ServerContext } from '../context';
import { sessionExpired, sessionRevoked, unauthenticated } from '../errors';
import type { Principal } from './principal';
import { sessionIdleMs } from './session-idle';

const issuer = 'depotline-sync-server';
const audience = 'depotline-api';

export interface AccessTokenClaims {
  userId: string;
  sessionId: string;
  deviceId: string;
  /** The session's absolute end (ms): a token never outlives its session. */
  sessionEndsAt: number;
}

/**
 * Short-lived access tokens (ACCESS_TOKEN_TTL_S, at most 15 minutes): HS256 JWTs signed with
 * a key only the server holds. They carry ids only; everything else is looked up, so a
 * revoked session or disabled user fails on the next check even while the token is valid.
 */
export async function issueAccessToken(ctx: ServerContext, claims: AccessTokenClaims): Promise<{ token: string; expiresAt: number }> {
  const nowS = Math.floor(ctx.now() / 1000);
  const expS = Math.min(nowS + ctx.config.accessTokenTtlS, Math.floor(claims.sessionEndsAt / 1000));
  const token = await new SignJWT({ sid: claims.sessionId, did: claims.deviceId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(nowS)
    .setExpirationTime(expS)
    .sign(ctx.tokenKey);
  return { token, expiresAt: expS * 1000 };
}

/** Verifies signature, algorithm, issuer, audience and expiry; returns the claims. */
export async function verifyAccessTokenSignature(ctx: ServerContext, token: string): Promise<Omit<AccessTokenClaims, 'sessionEndsAt'> & { expiresAt: number }> {
  if (token.length > 4096) throw unauthenticated();
  try {
    const { payload } = await jwtVerify(token, ctx.tokenKey, {
      algorithms: ['HS256'],
      issuer,
      audience,
      currentDate: new Date(ctx.now()),
    });
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.did !== 'string' || typeof payload.exp !== 'number') {
      throw unauthenticated();
    }
    return { userId: payload.sub, sessionId: payload.sid, deviceId: payload.did, expiresAt: payload.exp * 1000 };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired; refresh it.');
    if (err instanceof joseErrors.JOSEError) throw unauthenticated();
    throw err;
  }
}

/**
 * The whole check behind every REST request and socket connection: a valid token, for a
 * session that is neither revoked nor past its idle or absolute limit, of a user who is not
 * disabled.
 */
export async function authenticateAccessToken(ctx: ServerContext, token: string): Promise<Principal> {
  const claims = await verifyAccessTokenSignature(ctx, token);
  const row = await ctx.db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id', 'sessions.user_id', 'sessions.device_id', 'sessions.revoked_at', 'sessions.expires_at',
      'sessions.last_seen_at', 'sessions.idle_timeout_s', 'users.username', 'users.display_name', 'users.disabled_at',
    ])
    .where('sessions.id', '=', claims.sessionId)
    .executeTakeFirst();
  if (!row || row.user_id !== claims.userId || row.device_id !== claims.deviceId) throw unauthenticated();
  if (row.revoked_at !== null || row.disabled_at !== null) throw sessionRevoked();
  const now = ctx.now();
  if (row.expires_at <= now) throw sessionExpired();
  if (row.last_seen_at + sessionIdleMs(ctx.config, row) <= now) throw sessionExpired();
  return {
    userId: row.user_id,
    username: row.username,
    displayName: row.display_name,
    sessionId: row.id,
    deviceId: row.device_id,
    accessExpiresAt: claims.expiresAt,
  };
}
