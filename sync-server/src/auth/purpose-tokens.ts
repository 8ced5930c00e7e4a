import crypto from 'node:crypto';
import { type JWTPayload, SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { ServerContext } from '../context';
import type { AppError } from '../errors';

/**
 * Short-lived, single-purpose tokens (an MFA enrollment, a password change): HS256 JWTs signed
 * with the server's token key. Each purpose has its own audience, so no kind is accepted as
 * another, nor as an access token. The claims are the caller's; this checks signature,
 * algorithm, issuer, audience and expiry, and turns any failure into the caller's error.
 */

const issuer = 'depotline-sync-server';

export async function signPurposeToken(
  ctx: ServerContext,
  purpose: { audience: string; ttlS: number },
  subject: string,
  claims: JWTPayload,
): Promise<{ token: string; expiresAt: number }> {
  const nowS = Math.floor(ctx.now() / 1000);
  const expS = nowS + purpose.ttlS;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setIssuer(issuer)
    .setAudience(purpose.audience)
    .setJti(crypto.randomUUID())
    .setIssuedAt(nowS)
    .setExpirationTime(expS)
    .sign(ctx.tokenKey);
  return { token, expiresAt: expS * 1000 };
}

/** The verified payload, or `invalid()` thrown for any token that is not a valid one of this purpose. */
export async function verifyPurposeToken(ctx: ServerContext, audience: string, token: string, invalid: () => AppError): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, ctx.tokenKey, { algorithms: ['HS256'], issuer, audience, currentDate: new Date(ctx.now()) });
    return payload;
  } catch (err) {
    if (err instanceof joseErrors.JOSEError) throw invalid();
    throw err;
  }
}
