import { z } from 'zod';

/**
 * Stable error codes. Every error a client can receive (REST body, socket ack, rejected
 * mutation) carries one of these, so callers branch on codes, never on message text.
 */
export const errorCodes = [
  'bad_request',         // payload failed its schema
  'payload_too_large',   // the body (or an uploaded image's pixel count) is over the limit; nothing was read further or stored
  'unsupported_media_type', // an upload is not of a type the endpoint accepts, as sniffed from its bytes (a script sent as a photo)
  'barcode_mismatch',    // a scanned barcode is not one of the stop's parcels (it may belong to another order); nothing stored
  'unknown_event',
  'unauthenticated',     // no, malformed, forged or expired token
  'invalid_credentials', // username or password wrong; never says which
  'mfa_required',
  'mfa_invalid',
  'mfa_replayed',
  'mfa_enrollment_required',
  'mfa_unavailable',     // the stored authenticator seed does not decrypt (altered in the database): refused, reported; use another factor or ask an admin to reset it
  'webauthn_invalid',    // a security-key assertion or attestation failed verification (wrong origin or RP id, replayed, cloned key)
  'webauthn_required',   // policy: this account must sign in with a security key, not an authenticator code
  'account_locked',      // too many failures; retry after `retryAfterS`
  'device_limit_reached', // the user has as many trusted devices as policy allows; revoke one first
  'session_expired',
  'session_revoked',
  'refresh_reused',      // an old refresh token came back: the session family is revoked
  'forbidden',           // authenticated, but no grant allows this at this location
  'not_found',
  'conflict',            // business rule or stale state (carries the current server value)
  'idempotency_key_reused', // an Idempotency-Key sent again with another request: refused, nothing applied
  'approval_required',   // allowed, but a second person must approve it first (bulk exports, sensitive changes)
  'invalid_transition',  // stop status change not allowed by the state machine (or, to `delivered`, the PIN or age/ID check is missing)
  'pin_incorrect',       // the delivery PIN given does not match; the message says how many tries are left
  'pin_locked',          // too many wrong delivery PINs for the stop: no more tries until a dispatcher unlocks it
  'approval_own_request', // the requester cannot approve their own request, from any session or device
  'approval_closed',     // the approval request was already decided, withdrawn or used
  'approval_expired',    // the approval request expired before anyone decided
  'approval_stale',      // at approval time the change was no longer valid; nothing was applied
  'weak_password',
  'rate_limited',
  'unavailable',         // a service the check needs (the shared rate-limit store) is down; retry after `retryAfterS`
  'internal',
] as const;
export const ErrorCode = z.enum(errorCodes);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    /** Seconds until a retry can succeed (lockouts, rate limits). */
    retryAfterS: z.number().int().nonnegative().optional(),
    /** Schema problems, as `path: message` lines. */
    issues: z.array(z.string()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
