import type { BridgeError, BridgeErrorCode, ConsoleState, ErrorCode } from '@depotline/shared';
import { assertNever, isCoreError, type CoreError } from '../../core';

/**
 * An error the console answers over the bridge: a stable code and a message for people. Core
 * errors are translated here, in one place, so the renderer never branches on message text
 * and never sees a stack trace, a file path with a key in it, or a server's internals.
 */
export class ConsoleError extends Error {
  override readonly name = 'ConsoleError' as const;
  constructor(
    readonly code: BridgeErrorCode,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

const serverCodeMessages: Partial<Record<ErrorCode, [BridgeErrorCode, string]>> = {
  invalid_credentials: ['invalid_credentials', 'The username or password is not right.'],
  mfa_required: ['mfa_required', 'Enter the 6-digit code from your authenticator app.'],
  mfa_invalid: ['mfa_invalid', 'That code is not right. Check the time on this computer and try the current code.'],
  mfa_unavailable: ['mfa_invalid', 'Your authenticator cannot be verified on the server. Use a recovery code or a security key, or ask an administrator to reset your authenticator.'],
  mfa_replayed: ['mfa_replayed', 'That code was used already. Wait for the next code and try again.'],
  account_locked: ['account_locked', 'Too many failed attempts. Wait a while and try again, or ask an administrator.'],
  rate_limited: ['rate_limited', 'Too many requests. Wait a moment and try again.'],
  forbidden: ['forbidden', 'Your access at this depot does not allow that.'],
  not_found: ['not_found', 'That record no longer exists.'],
  invalid_transition: ['invalid_transition', 'The stop cannot change to that status from its current status.'],
  session_expired: ['not_signed_in', 'Your session has ended. Sign in again.'],
  session_revoked: ['not_signed_in', 'Your session was revoked. Sign in again.'],
  unauthenticated: ['not_signed_in', 'You are not signed in. Sign in again.'],
  refresh_reused: ['not_signed_in', 'Your session was ended for safety. Sign in again.'],
  device_limit_reached: ['forbidden', 'Your account is on as many computers as allowed. Remove one on the Security screen of another console, or ask an administrator.'],
  conflict: ['bad_request', 'That was already done, or is no longer possible. Refresh and try again.'],
  webauthn_required: ['webauthn_required', 'Your account must sign in with a security key: press "Use a security key".'],
  webauthn_invalid: ['invalid_credentials', 'The security key was not accepted. Try again.'],
};

function fromCoreError(err: CoreError): BridgeError {
  switch (err.name) {
    case 'KeychainUnavailableError':
    case 'KeychainEntryInvalidError':
      return { code: 'keychain_unavailable', message: err.message };
    case 'DatabaseKeyMissingError':
    case 'DatabaseKeyMismatchError':
    case 'DatabaseCorruptError':
    case 'DatabaseTooNewError':
      return { code: 'database_unavailable', message: err.message };
    case 'StoreClosedError':
    case 'NotSignedInError':
      return { code: 'not_signed_in', message: 'You are not signed in. Sign in again.' };
    case 'ServerDataRejectedError':
      return { code: 'server_error', message: 'The server sent something this console does not accept. Try again later.' };
    case 'LocalEditRefusedError':
      switch (err.refusal) {
        case 'invalid_transition': return { code: 'invalid_transition', message: `The stop cannot change like that: ${err.message}.` };
        case 'not_found': return { code: 'not_found', message: 'That record is not on this device any more.' };
        case 'unknown_location': return { code: 'forbidden', message: 'That depot is not available on this device.' };
        case 'bad_request':
        case 'already_exists': {
          // The core's own words for a rule it checked (a failure needs a reason, the route changed meanwhile): for the user.
          const why = err.message.replace(/\.$/, '');
          return { code: 'bad_request', message: `The edit was not accepted: ${why.charAt(0).toLowerCase()}${why.slice(1)}.` };
        }
        default: return assertNever(err.refusal);
      }
    case 'InsecureServerUrlError':
      return { code: 'server_error', message: err.message };
    case 'ServerUnreachableError':
      return { code: 'server_unreachable', message: 'The server could not be reached. Check the network connection and try again.' };
    case 'ServerRequestError': {
      // The server's password rules say which one failed ("may not be the one-time password"); that is for the user.
      if (err.code === 'weak_password') return { code: 'bad_request', message: err.message.slice(0, 500) };
      const known = serverCodeMessages[err.code];
      if (known) {
        return { code: known[0], message: known[1], ...(err.retryAfterS !== null ? { retryAfterS: err.retryAfterS } : {}) };
      }
      return { code: 'server_error', message: 'The server could not do that right now. Try again later.' };
    }
    case 'ProfileMismatchError':
      return { code: 'forbidden', message: err.message };
    case 'ProfileOfflineLockedError':
      return { code: 'server_unreachable', message: err.message };
    default:
      return assertNever(err);
  }
}

type ErrorScreen = Extract<ConsoleState, { screen: 'error' }>;

/**
 * The core errors that stop the console before it can show data, each with its own error
 * screen. Starting over sets the database aside for a new one, so it is offered only where a
 * new one helps: not without a keychain (a new database could not be keyed either), not for a
 * newer app's file (an update opens it), not for another user's profile. Every core error is
 * listed, so a new one needs a decision here.
 */
const problemScreens: Record<CoreError['name'], Pick<ErrorScreen, 'problem' | 'canStartOver'> | null> = {
  KeychainUnavailableError: { problem: 'keychain_unavailable', canStartOver: false },
  KeychainEntryInvalidError: { problem: 'database_unavailable', canStartOver: true },
  DatabaseKeyMissingError: { problem: 'database_unavailable', canStartOver: true },
  DatabaseKeyMismatchError: { problem: 'database_unavailable', canStartOver: true },
  DatabaseCorruptError: { problem: 'database_unavailable', canStartOver: true },
  DatabaseTooNewError: { problem: 'database_unavailable', canStartOver: false },
  ProfileMismatchError: { problem: 'profile_mismatch', canStartOver: false },
  StoreClosedError: null,
  ServerDataRejectedError: null,
  LocalEditRefusedError: null,
  InsecureServerUrlError: null,
  ServerUnreachableError: null,
  ServerRequestError: null,
  NotSignedInError: null,
  // Past the policy's offline days: only the server can unlock it (an online sign-in), never a new database.
  ProfileOfflineLockedError: { problem: 'offline_locked', canStartOver: false },
};

/** The error screen for `err` (keychain, database, profile); null when it has none. */
export function problemScreenFor(err: unknown): ErrorScreen | null {
  if (!isCoreError(err)) return null;
  const screen = problemScreens[err.name];
  return screen && { screen: 'error', problem: screen.problem, message: err.message, canStartOver: screen.canStartOver };
}

/** The bridge form of any error. Unknown errors say nothing about their cause (main logs it). */
export function toBridgeError(err: unknown): BridgeError {
  if (err instanceof ConsoleError) {
    return { code: err.code, message: err.message, ...(err.retryAfterS !== undefined ? { retryAfterS: err.retryAfterS } : {}) };
  }
  if (isCoreError(err)) return fromCoreError(err);
  return { code: 'internal', message: 'Something went wrong in the console. Try again; if it keeps happening, restart Depotline.' };
}
