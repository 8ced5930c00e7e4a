import type { ErrorBody, ErrorCode } from '@depotline/shared';
import type { z } from 'zod';

/**
 * Every error a client can see is an AppError: a stable code from shared/errors.ts, an HTTP
 * status, and a message safe to show. Anything else that escapes a handler becomes
 * `internal` with a generic message (the original is logged, never sent).
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
    readonly extra: { retryAfterS?: number; issues?: string[] } = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  /** Response headers the answer needs besides the body (RFC 6750 `WWW-Authenticate` on a refused bearer credential). */
  headers: Readonly<Record<string, string>> = {};

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}

export const badRequest = (issues: string[]) =>
  new AppError('bad_request', 400, 'The request does not match its schema.', { issues });
export const payloadTooLarge = () => new AppError('payload_too_large', 413, 'The request is too large.');
export const unknownEvent = (name: string) =>
  new AppError('unknown_event', 400, `Unknown event "${name.slice(0, 64)}".`);
export const unauthenticated = (message = 'Sign in again: the access token is missing, invalid or expired.') =>
  new AppError('unauthenticated', 401, message);
export const invalidCredentials = () =>
  new AppError('invalid_credentials', 401, 'The username or password is not correct.');
export const mfaRequired = () => new AppError('mfa_required', 401, 'Enter the code from your authenticator app.');
export const mfaInvalid = () => new AppError('mfa_invalid', 401, 'The authenticator code is not correct.');
/** The stored TOTP seed does not decrypt: the sign-in fails closed for this user only (auth/totp-seed.ts). */
export const mfaUnavailable = () =>
  new AppError('mfa_unavailable', 401, 'Your authenticator cannot be verified on the server. Use a recovery code or a security key, or ask an administrator to reset your authenticator.');
export const mfaReplayed = () =>
  new AppError('mfa_replayed', 401, 'That authenticator code was already used; wait for the next one.');
/** A security-key assertion or registration failed verification; the reason is audited, never sent. */
export const webauthnInvalid = (message = 'The security key could not be verified. Start again.') => new AppError('webauthn_invalid', 401, message);
export const webauthnRequired = (message = 'This account must sign in with a security key.') => new AppError('webauthn_required', 401, message);
export const accountLocked = (retryAfterS: number) =>
  new AppError('account_locked', 429, 'Too many failed sign-ins. Try again later.', { retryAfterS });
export const rateLimited = (retryAfterS: number) =>
  new AppError('rate_limited', 429, 'Too many requests. Slow down.', { retryAfterS });
/** The shared rate-limit store is unreachable and the check fails closed (sign-in: ratelimit/limits.ts). */
export const unavailable = (retryAfterS = 5) =>
  new AppError('unavailable', 503, 'Sign-in is briefly unavailable on the server. Try again in a moment.', { retryAfterS });
export const sessionExpired = () => new AppError('session_expired', 401, 'The session has expired; sign in again.');
export const sessionRevoked = () => new AppError('session_revoked', 401, 'The session was revoked; sign in again.');
export const refreshReused = () =>
  new AppError('refresh_reused', 401, 'A refresh token was used twice; the session was revoked for safety.');
/**
 * A refused integration credential (API key or OAuth access token): one answer whatever was wrong
 * with it, with the RFC 6750 section 3.1 challenge.
 */
export function invalidMachineCredential(): AppError {
  const err = new AppError('unauthenticated', 401, 'The API credential is missing, invalid, expired or revoked.');
  err.headers = { 'WWW-Authenticate': 'Bearer error="invalid_token"' };
  return err;
}
export const forbidden = (message = 'You do not have access to this.') => new AppError('forbidden', 403, message);
export const notFound = (what = 'The record') => new AppError('not_found', 404, `${what} was not found.`);
export const conflict = (message: string) => new AppError('conflict', 409, message);
export const invalidTransition = (message: string) => new AppError('invalid_transition', 409, message);
export const weakPassword = (message: string) => new AppError('weak_password', 400, message);
export const internalError = () => new AppError('internal', 500, 'Something went wrong on the server.');

export function asAppError(err: unknown): AppError {
  return err instanceof AppError ? err : internalError();
}

/** Formats zod issues as `path: message` lines for `bad_request` errors. */
export function zodIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string[] {
  return error.issues.slice(0, 20).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}

/**
 * Parses input that crossed a trust boundary (a REST body, a socket payload, a CLI argument)
 * with its schema; a failure is the one `bad_request` every caller answers with.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw badRequest(zodIssues(parsed.error));
  return parsed.data;
}
