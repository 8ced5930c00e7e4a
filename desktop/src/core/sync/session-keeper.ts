import crypto from 'node:crypto';
import type { DeviceProof, ErrorCode, LoginResponse, Me, MfaEnrollment, SessionTokens } from '@depotline/shared';
import { NotSignedInError, ProfileMismatchError, ServerRequestError } from '../errors';
import { waitForDecision, type ApprovalOutcome, type HeldSignIn } from './held-sign-in';
import { KeyCeremony, waitForKey, type KeyAnswer } from './security-key-sign-in';
import type { LocalStore } from '../store/local-store';
import type { SessionSecretVault } from '../vault/key-vault';
import type { AuthClient } from './auth-client';
import type { Backoff } from './backoff';
import type { DeviceProver } from './device-enrollment';

export type SignInOutcome =
  | { status: 'ok'; me: Me }
  | { status: 'mfa_enrollment_required'; enrollment: MfaEnrollment }
  /** A device this user never used: no session until a trusted device (or an admin) approves. */
  | { status: 'approval_required'; approval: HeldSignIn }
  /** An administrator reset the password: set a new one with this token (completePasswordChange). */
  | { status: 'password_change_required'; changeToken: string; changeTokenExpiresAt: number };

/** How a sign-in with a security key ends: as any sign-in, or without one (failed, expired, cancelled). */
export type KeySignInOutcome = SignInOutcome | Exclude<KeyAnswer, { status: 'answered' }>;

export interface SessionKeeperOptions {
  auth: AuthClient;
  store: LocalStore;
  vault: SessionSecretVault;
  profileId: string;
  serverUrl: string;
  deviceName: string | undefined;
  renewBeforeMs: number;
  retry: Backoff;
  /** First wait between polls of a held sign-in; it grows to five times this. */
  approvalPollMs: number;
  /** First wait between polls of a security-key ceremony (about a second, as the server asks). */
  keyPollMs: number;
  now: () => number;
  /** Where the server requires enrolled devices: signs each sign-in (device-enrollment.ts). */
  deviceProof?: DeviceProver | undefined;
  /** Fresh tokens are in; hand the access token to the open socket. */
  renewed(tokens: SessionTokens): Promise<void>;
  /** The server refused the session (revoked, reused, expired). */
  refused(code: ErrorCode): Promise<void>;
  failed(err: unknown): void;
}

/**
 * The session's tokens: sign-in, the refresh token in the keychain, and renewal of the
 * short-lived access token before it expires. A profile is bound to the first user and server
 * that sign in to it, so one user's data never shows to another.
 */
export class SessionKeeper {
  readonly #o: SessionKeeperOptions;
  #tokens: SessionTokens | null = null;
  #refreshing: Promise<SessionTokens> | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SessionKeeperOptions) {
    this.#o = options;
  }

  get accessToken(): string {
    return this.#tokens?.accessToken ?? '';
  }

  get hasTokens(): boolean {
    return this.#tokens !== null;
  }

  async hasStoredSession(): Promise<boolean> {
    return this.#tokens !== null || (await this.#o.vault.getRefreshToken(this.#o.profileId)) !== null;
  }

  async signIn(credentials: { username: string; password: string; totp?: string }): Promise<SignInOutcome> {
    const device = await this.#device();
    return this.#outcome(await this.#o.auth.login({ ...credentials, ...device, ...(await this.#proof(credentials.username, device.deviceId)) }));
  }

  async confirmMfaEnrollment(input: { enrollmentToken: string; code: string }): Promise<SignInOutcome> {
    return this.#outcome(await this.#o.auth.confirmMfa({ ...input, ...(await this.#device()) }));
  }

  /** The new password after an administrator's reset; completes the sign-in that asked for it. */
  async completePasswordChange(input: { changeToken: string; newPassword: string }): Promise<SignInOutcome> {
    return this.#outcome(await this.#o.auth.completePasswordChange({ ...input, ...(await this.#device()) }));
  }

  /**
   * Polls a held sign-in until it is approved (the session is adopted, as at any sign-in),
   * denied, expired or cancelled through `signal`. Bounded by the request's own expiry.
   */
  async waitForApproval(approval: HeldSignIn, options: { signal?: AbortSignal } = {}): Promise<ApprovalOutcome> {
    const deviceId = await this.deviceId();
    const decided = await waitForDecision(approval, {
      poll: () => this.#o.auth.pollSignIn({ requestId: approval.requestId, pollToken: approval.pollToken, deviceId }),
      firstDelayMs: this.#o.approvalPollMs, now: this.#o.now, ...(options.signal ? { signal: options.signal } : {}),
    });
    if (decided.status !== 'ok') return decided;
    await this.#adopt(decided.tokens, decided.me);
    return { status: 'ok', me: decided.me };
  }

  /** Sign-in with a security key, step one: the password opens a ceremony; open its page, then completeKeySignIn. */
  async startKeySignIn(credentials: { username: string; password: string }): Promise<KeyCeremony> {
    const { deviceId, deviceSecret } = await this.#device();
    const started = await this.#o.auth.startKeySignIn({ ...credentials, deviceId, deviceSecret });
    return new KeyCeremony(started, credentials);
  }

  /**
   * Polls the ceremony until the key has answered on the page, then presents the assertion
   * with the password, from this device, as the sign-in's second factor. Anything but an
   * answer (failed, expired, cancelled through `signal`) ends here with no session.
   */
  async completeKeySignIn(ceremony: KeyCeremony, options: { signal?: AbortSignal } = {}): Promise<KeySignInOutcome> {
    const { ceremonyId, pollToken, username, password } = ceremony.secrets();
    const answer = await waitForKey(ceremony.expiresAt, {
      poll: () => this.#o.auth.pollCeremony(ceremonyId, pollToken),
      firstDelayMs: this.#o.keyPollMs, now: this.#o.now, ...(options.signal ? { signal: options.signal } : {}),
    });
    if (answer.status !== 'answered') return answer;
    if (options.signal?.aborted) return { status: 'cancelled' };
    const device = await this.#device();
    return this.#outcome(await this.#o.auth.login({
      username, password, ...device, ...(await this.#proof(username, device.deviceId)), webauthn: { ceremonyId, pollToken, response: answer.response },
    }));
  }

  /** The enrolled device's signature for this sign-in, when the console signs its sign-ins. */
  async #proof(username: string, deviceId: string): Promise<{ deviceProof?: DeviceProof }> {
    const proof = this.#o.deviceProof ? await this.#o.deviceProof({ username, deviceId }) : null;
    return proof ? { deviceProof: proof } : {};
  }

  async #outcome(res: LoginResponse): Promise<SignInOutcome> {
    switch (res.status) {
      case 'mfa_enrollment_required':
      case 'approval_required':
        return res;
      case 'password_change_required':
        return { status: res.status, changeToken: res.changeToken, changeTokenExpiresAt: res.changeTokenExpiresAt };
      case 'ok':
        await this.#adopt(res.tokens, res.me);
        return { status: 'ok', me: res.me };
    }
  }

  /**
   * Who this device is, for every sign-in: its id, its name, its platform, and the secret that
   * makes it a known device to the server (kept in the encrypted database, never sent elsewhere).
   */
  async #device(): Promise<{ deviceId: string; deviceName?: string; deviceSecret: string; platform: string }> {
    let secret = await this.#o.store.getMeta('deviceSecret');
    if (!secret) {
      secret = crypto.randomBytes(32).toString('base64url');
      await this.#o.store.setMeta('deviceSecret', secret);
    }
    return {
      deviceId: await this.deviceId(), deviceSecret: secret, platform: process.platform,
      ...(this.#o.deviceName !== undefined ? { deviceName: this.#o.deviceName } : {}),
    };
  }

  /**
   * New tokens from the refresh token. One refresh at a time: a refresh token is single-use,
   * and two concurrent refreshes with it look like theft to the server (`refresh_reused`),
   * which revokes the session.
   */
  refresh(): Promise<SessionTokens> {
    this.#refreshing ??= (async () => {
      try {
        const refreshToken = await this.#o.vault.getRefreshToken(this.#o.profileId);
        if (!refreshToken) throw new NotSignedInError();
        const tokens = await this.#o.auth.refresh({ refreshToken, deviceId: await this.deviceId() });
        // The old token is spent now; keep the new one before anything else can fail.
        await this.#o.vault.setRefreshToken(this.#o.profileId, tokens.refreshToken);
        this.#use(tokens);
        return tokens;
      } catch (err) {
        if (err instanceof ServerRequestError) await this.#o.refused(err.code);
        throw err;
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  /**
   * An access token for a REST call of the signed-in user: the one held while it has a while
   * left, else a renewed one, handed to the socket too so both stay on the same token.
   */
  async freshAccessToken(options: { force?: boolean } = {}): Promise<string> {
    const tokens = this.#tokens;
    if (!options.force && tokens && tokens.accessExpiresAt - this.#o.now() > 30_000) return tokens.accessToken;
    const renewed = await this.refresh();
    await this.#o.renewed(renewed).catch((err: unknown) => this.#o.failed(err));
    return renewed.accessToken;
  }

  /** Forgets the tokens in memory; `forget` also deletes the refresh token from the keychain. */
  async clear(options: { forget: boolean }): Promise<void> {
    this.#tokens = null;
    clearTimeout(this.#timer);
    if (options.forget) await this.#o.vault.deleteRefreshToken(this.#o.profileId).catch(() => false);
  }

  stopRenewing(): void {
    clearTimeout(this.#timer);
  }

  /**
   * Ends the session on the server (`POST /auth/logout`) when there is a token to do it with
   * and the server answers, then forgets the tokens here and in the keychain. Returns whether
   * the server confirmed; offline, the server session ends at its idle limit instead.
   */
  async signOut(): Promise<boolean> {
    const tokens = this.#tokens;
    let ended = false;
    if (tokens && tokens.accessExpiresAt > this.#o.now()) {
      ended = await this.#o.auth.logout(tokens.accessToken).then(() => true, () => false);
    }
    await this.clear({ forget: true });
    return ended;
  }

  async deviceId(): Promise<string> {
    const known = await this.#o.store.getMeta('deviceId');
    if (known) return known;
    const id = crypto.randomBytes(16).toString('base64url');
    await this.#o.store.setMeta('deviceId', id);
    return id;
  }

  async #adopt(tokens: SessionTokens, me: Me): Promise<void> {
    const store = this.#o.store;
    const [userId, serverUrl] = [await store.getMeta('userId'), await store.getMeta('serverUrl')];
    const mismatch = userId !== null && userId !== me.user.id ? 'user' : serverUrl !== null && serverUrl !== this.#o.serverUrl ? 'server' : null;
    if (mismatch) {
      await this.#o.auth.logout(tokens.accessToken).catch(() => undefined);
      throw new ProfileMismatchError(mismatch);
    }
    await store.setMeta('userId', me.user.id);
    await store.setMeta('serverUrl', this.#o.serverUrl);
    await this.#o.vault.setRefreshToken(this.#o.profileId, tokens.refreshToken);
    this.#use(tokens);
  }

  #use(tokens: SessionTokens): void {
    this.#tokens = tokens;
    this.#schedule(Math.max(1_000, tokens.accessExpiresAt - this.#o.now() - this.#o.renewBeforeMs));
  }

  #schedule(inMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#renew(), inMs);
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    try {
      await this.#o.renewed(await this.refresh());
    } catch (err) {
      if (!this.#tokens) return; // the session ended meanwhile
      this.#o.failed(err);
      this.#schedule(this.#o.retry.next());
    }
  }
}
