import type { ServerContext } from '../context';
import { unauthenticated } from '../errors';
import { signPurposeToken, verifyPurposeToken } from './purpose-tokens';

/** Distinct from access tokens' audience, so neither kind is accepted as the other. */
const audience = 'depotline-mfa-enroll';
export const enrollmentTokenTtlS = 600;

export interface EnrollmentClaims {
  userId: string;
  /**
   * The pending TOTP seed, already encrypted exactly as it will be stored in
   * `users.totp_secret_enc` (AES-GCM bound to the user's row). The pending seed lives only in
   * this token until confirmation: nothing is written to the user's row before the user has
   * proven they can produce codes, so an abandoned enrollment leaves no state behind, and a
   * pending enrollment never overwrites an enrolled seed. The seed is encrypted rather than
   * merely signed because tokens end up in client memory and logs (ASVS 2.8.2).
   */
  secretEnc: string;
  /**
   * What the enrollment may be confirmed for, and by whom: at sign-in, only from the device
   * that proved the password (no session for another device); when adding a factor while
   * signed in, only by the session that re-entered the password (no session at all).
   */
  binding: EnrollmentBinding;
}

export type EnrollmentBinding = { purpose: 'sign_in'; deviceId: string } | { purpose: 'add_factor'; sessionId: string };

export async function issueEnrollmentToken(ctx: ServerContext, claims: EnrollmentClaims): Promise<string> {
  const bound = claims.binding.purpose === 'sign_in' ? { pur: 'sign_in', did: claims.binding.deviceId } : { pur: 'add_factor', sid: claims.binding.sessionId };
  return (await signPurposeToken(ctx, { audience, ttlS: enrollmentTokenTtlS }, claims.userId, { sec: claims.secretEnc, ...bound })).token;
}

export async function verifyEnrollmentToken(ctx: ServerContext, token: string): Promise<EnrollmentClaims> {
  const invalid = () => unauthenticated('The MFA enrollment is invalid or has expired; sign in again.');
  const payload = await verifyPurposeToken(ctx, audience, token, invalid);
  if (typeof payload.sub !== 'string' || typeof payload.sec !== 'string') throw invalid();
  let binding: EnrollmentBinding;
  if (payload.pur === 'sign_in' && typeof payload.did === 'string') binding = { purpose: 'sign_in', deviceId: payload.did };
  else if (payload.pur === 'add_factor' && typeof payload.sid === 'string') binding = { purpose: 'add_factor', sessionId: payload.sid };
  else throw invalid();
  return { userId: payload.sub, secretEnc: payload.sec, binding };
}
