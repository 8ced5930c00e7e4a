import {
  CeremonyStarted, CeremonyStatus, LoginResponse, SessionTokens, SignInPollResponse,
  type LoginRequest, type WebauthnLoginStart, type MfaEnrollConfirm, type PasswordChangeComplete, type RefreshRequest,
} from '@depotline/shared';
import type { z } from 'zod';
import { RestTransport, segment, type RestOptions } from './rest';

/** What a held device sends to learn whether its sign-in was approved (shared/account-security.ts). */
export interface SignInPollBody {
  requestId: string;
  pollToken: string;
  deviceId: string;
}

/**
 * The sync server's REST auth API (`/api/v1/auth/*`): the calls made before there is a session,
 * or to renew and end one. Every answer is parsed with its shared schema (rest.ts).
 */
export class AuthClient {
  readonly #rest: RestTransport;

  constructor(serverUrl: URL, options: RestOptions = {}) {
    this.#rest = new RestTransport(serverUrl, options);
  }

  login(body: LoginRequest): Promise<LoginResponse> {
    return this.#post('/api/v1/auth/login', body, LoginResponse);
  }

  confirmMfa(body: MfaEnrollConfirm): Promise<LoginResponse> {
    return this.#post('/api/v1/auth/mfa/confirm', body, LoginResponse);
  }

  /** After an administrator's reset: the new password, with the change token the sign-in gave. */
  completePasswordChange(body: PasswordChangeComplete): Promise<LoginResponse> {
    return this.#post('/api/v1/auth/password/complete', body, LoginResponse);
  }

  /** A held sign-in's decision; answers the session itself, once, after approval. */
  pollSignIn(body: SignInPollBody): Promise<SignInPollResponse> {
    return this.#post('/api/v1/auth/sign-in-requests/poll', body, SignInPollResponse);
  }

  /** Sign-in with a security key, step one: the password opens a `login` ceremony for this device. */
  startKeySignIn(body: WebauthnLoginStart): Promise<CeremonyStarted> {
    return this.#post('/api/v1/auth/webauthn/login', body, CeremonyStarted);
  }

  /** How a ceremony stands; POST, so the poll token never sits in a URL. */
  pollCeremony(ceremonyId: string, pollToken: string): Promise<CeremonyStatus> {
    return this.#post(`/api/v1/webauthn/ceremonies/${segment(ceremonyId)}/poll`, { pollToken }, CeremonyStatus);
  }

  /** Rotates the refresh token: the one sent is spent, keep the returned one. */
  refresh(body: RefreshRequest): Promise<SessionTokens> {
    return this.#post('/api/v1/auth/refresh', body, SessionTokens);
  }

  logout(accessToken: string): Promise<void> {
    return this.#rest.empty('POST', '/api/v1/auth/logout', { accessToken });
  }

  #post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    return this.#rest.json('POST', path, schema, { body });
  }
}
