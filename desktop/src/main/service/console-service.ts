import fs from 'node:fs';
import type {
  BridgeArgs, BridgeEventMessage, ConsoleProblem, ConsoleState, Me, SyncStatusView, UserView,
} from '@depotline/shared';
import {
  InsecureServerUrlError, KeychainUnavailableError, parseServerUrl, ProfileMismatchError, reenrollProfile, ServerUnreachableError,
  SyncClient, wipeProfile, openProfileStore,
  type KeyVault, type LocalStore, type SessionEndedEvent, type SessionSecretVault, type SyncClientOptions, type SyncLog,
} from '../../core';
import { ConsoleData } from './console-data';
import { ConsoleError } from './console-error';
import { profileDbPath, profileIdFor } from './profiles';
import { makeVerifier, verifyPassword, type StoredVerifier, type UnlockVerifierVault } from './unlock-verifier';

export interface ConsoleServiceOptions {
  serverUrl: string;
  /** Where profile databases live (Electron: `<userData>/profiles`). Must exist. */
  profilesDir: string;
  vault: KeyVault & SessionSecretVault;
  verifiers: UnlockVerifierVault;
  /** Lock after this long without user activity (policy; issue 4: default 10 minutes). */
  idleLockMs: number;
  deviceName?: string;
  /** Tuning of the sync client (tests shorten its delays). */
  sync?: Partial<Pick<SyncClientOptions, 'retryDelayMs' | 'retryDelayMaxMs' | 'ackTimeoutMs' | 'origin' | 'pullPageSize'>>;
  log?: SyncLog;
  now?: () => number;
  /** How often the idle lock is checked. */
  idleCheckMs?: number;
}

interface Profile {
  profileId: string;
  dbPath: string;
}

interface OpenProfile extends Profile {
  store: LocalStore;
  client: SyncClient;
}

interface ActiveSession extends OpenProfile {
  user: UserView;
  verifier: StoredVerifier;
  failedUnlocks: number;
}

interface PendingEnrollment extends OpenProfile {
  enrollmentToken: string;
  /** The profile was created by this sign-in: a cancelled enrollment leaves nothing behind. */
  fresh: boolean;
  /** Hash of the password that got this far; the password itself is not kept. */
  verifier: StoredVerifier;
}

/** Wrong unlock passwords before the console signs out and asks for a full sign-in again. */
export const maxFailedUnlocks = 5;

const signedOutStatus: SyncStatusView = { connection: 'signed_out', pendingCount: 0, lastSyncAt: null, lastError: null };

/**
 * The logic behind every bridge call, and nothing Electron: the main process and the e2e test
 * host run exactly this. It owns the screen the console shows (`ConsoleState`), the signed-in
 * profile (encrypted store + sync client), the lock and idle lock, and the events pushed to the
 * renderer; `data` (console-data.ts) answers the read and edit calls.
 *
 * Lock semantics: while locked or signed out, every data call fails with `locked` and no data
 * change is announced, so the renderer has nothing to draw until the user re-authenticates.
 */
export class ConsoleService {
  readonly #o: Required<Omit<ConsoleServiceOptions, 'deviceName' | 'sync'>> & Pick<ConsoleServiceOptions, 'deviceName' | 'sync'>;
  readonly #serverOrigin: string | null;
  #state: ConsoleState = { screen: 'starting' };
  #session: ActiveSession | null = null;
  #enrollment: PendingEnrollment | null = null;
  #problemProfile: Profile | null = null;
  #lastActivity = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #listeners = new Set<(message: BridgeEventMessage) => void>();
  readonly #locationNames = new Map<string, string>();
  /** The read and edit calls; each refuses unless the console is unlocked. */
  readonly data: ConsoleData;

  constructor(options: ConsoleServiceOptions) {
    this.#o = {
      log: { warn: (message, fields) => console.warn(`[depotline] ${message}`, fields ?? {}) },
      now: Date.now,
      idleCheckMs: 1000,
      ...options,
    };
    let origin: string | null = null;
    try {
      origin = parseServerUrl(options.serverUrl).origin;
    } catch (err) {
      const message = err instanceof InsecureServerUrlError ? err.message : `The configured server address is not valid: ${options.serverUrl}`;
      this.#state = { screen: 'error', problem: 'insecure_server', message, canStartOver: false };
    }
    this.#serverOrigin = origin;
    if (origin) this.#state = { screen: 'sign_in', serverUrl: origin, notice: null };
    this.data = new ConsoleData({
      session: () => this.#unlocked(),
      now: this.#o.now,
      activity: () => {
        this.#lastActivity = this.#o.now();
      },
      locationNames: this.#locationNames,
    });
  }

  /* ---------------------------------------------------------------------------- events */

  /** Pushes for the renderer (state, sync status, data changes, notices). Returns the unsubscribe. */
  onEvent(listener: (message: BridgeEventMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(message: BridgeEventMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (err) {
        this.#o.log.warn('event listener failed', { error: err instanceof Error ? err.name : 'unknown' });
      }
    }
  }

  #setState(state: ConsoleState): ConsoleState {
    this.#state = state;
    this.#emit({ event: 'state', payload: state });
    return state;
  }

  get state(): ConsoleState {
    return this.#state;
  }

  /** State-changing calls run one at a time (a double-clicked sign-in must not open twice). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /* --------------------------------------------------------------------------- sign-in */

  getState(): Promise<ConsoleState> {
    return Promise.resolve(this.#state);
  }

  signIn(args: BridgeArgs<'signIn'>): Promise<ConsoleState> {
    return this.#exclusive(async () => {
      const screen = this.#state.screen;
      if (screen !== 'sign_in' && screen !== 'error' && screen !== 'wiped') throw new ConsoleError('bad_request', 'Sign out first.');
      if (!this.#serverOrigin) return this.#state;
      const username = args.username.trim();
      const profileId = profileIdFor(this.#serverOrigin, username);
      const profile: Profile = { profileId, dbPath: profileDbPath(this.#o.profilesDir, profileId) };
      const existed = fs.existsSync(profile.dbPath);

      let store: LocalStore;
      try {
        store = await openProfileStore({ ...profile, vault: this.#o.vault });
      } catch (err) {
        return this.#problem(err, profile);
      }
      const open: OpenProfile = { ...profile, store, client: this.#newClient(profile, store) };
      try {
        // A session this device already holds, unlocked by the password that proved itself
        // online before (with its second factor): works while the server is down.
        if (existed) {
          const [refreshToken, verifier] = await Promise.all([this.#o.vault.getRefreshToken(profileId), this.#o.verifiers.get(profileId)]);
          if (refreshToken && verifier && (await verifyPassword(verifier, args.password))) return await this.#activate(open, verifier);
        }
        const outcome = await open.client.signIn({ username, password: args.password, ...(args.totp ? { totp: args.totp } : {}) });
        if (outcome.status === 'mfa_enrollment_required') {
          const verifier = await makeVerifier(args.password, { id: 'pending', username, displayName: username });
          this.#enrollment = { ...open, enrollmentToken: outcome.enrollment.enrollmentToken, fresh: !existed, verifier };
          return this.#setState({
            screen: 'enroll_mfa', username, otpauthUri: outcome.enrollment.otpauthUri, secretBase32: outcome.enrollment.secretBase32,
          });
        }
        const verifier = await makeVerifier(args.password, userViewOf(outcome.me));
        await this.#o.verifiers.set(profileId, verifier);
        return await this.#activate(open, verifier);
      } catch (err) {
        if (this.#session?.profileId === profileId) throw err; // activated, then failed: #activate cleaned up
        await this.#close(open, { forget: !existed });
        if (err instanceof ServerUnreachableError) {
          if (!existed) {
            return this.#setState({
              screen: 'error', problem: 'server_unreachable', canStartOver: false,
              message: `The server at ${this.#serverOrigin} could not be reached. The first sign-in on this computer needs it: ` +
                'check the network connection, or ask IT whether the server is running, and try again.',
            });
          }
          throw new ConsoleError('server_unreachable', 'The server could not be reached, and this password does not unlock ' +
            'the session kept on this computer. Check the password, or try again when the server is back.');
        }
        if (this.#isProblem(err)) return this.#problem(err, profile);
        throw err;
      }
    });
  }

  confirmMfaEnrollment(args: BridgeArgs<'confirmMfaEnrollment'>): Promise<ConsoleState> {
    return this.#exclusive(async () => {
      const pending = this.#enrollment;
      if (!pending || this.#state.screen !== 'enroll_mfa') throw new ConsoleError('bad_request', 'There is no authenticator enrollment in progress.');
      const outcome = await pending.client.confirmMfaEnrollment({ enrollmentToken: pending.enrollmentToken, code: args.code });
      if (outcome.status !== 'ok') throw new ConsoleError('mfa_invalid', 'The server asked for the enrollment again. Go back and sign in again.');
      this.#enrollment = null;
      const verifier: StoredVerifier = { ...pending.verifier, user: userViewOf(outcome.me) };
      await this.#o.verifiers.set(pending.profileId, verifier);
      return this.#activate(pending, verifier);
    });
  }

  backToSignIn(): Promise<ConsoleState> {
    return this.#exclusive(async () => {
      const screen = this.#state.screen;
      if (screen === 'console' || screen === 'locked' || !this.#serverOrigin) return this.#state;
      await this.#dropEnrollment();
      this.#problemProfile = null;
      return this.#setState({ screen: 'sign_in', serverUrl: this.#serverOrigin, notice: null });
    });
  }

  /** Sets an unreadable database aside (never deletes it) and starts the profile over. */
  startOver(): Promise<ConsoleState> {
    return this.#exclusive(async () => {
      const profile = this.#problemProfile;
      if (!profile || this.#state.screen !== 'error' || !this.#state.canStartOver || !this.#serverOrigin) {
        throw new ConsoleError('bad_request', 'There is nothing to start over.');
      }
      try {
        const report = await reenrollProfile({ ...profile, vault: this.#o.vault });
        await report.store.close();
        // The old session belonged to the old database (its device id): sign in afresh.
        await this.#o.vault.deleteRefreshToken(profile.profileId).catch(() => false);
        await this.#o.verifiers.delete(profile.profileId).catch(() => false);
      } catch (err) {
        return this.#problem(err, profile);
      }
      this.#problemProfile = null;
      return this.#setState({ screen: 'sign_in', serverUrl: this.#serverOrigin, notice: null });
    });
  }

  async #activate(open: OpenProfile, verifier: StoredVerifier): Promise<ConsoleState> {
    const session: ActiveSession = { ...open, user: verifier.user, verifier, failedUnlocks: 0 };
    this.#session = session;
    this.#wire(session);
    try {
      await session.client.start();
    } catch (err) {
      if (this.#session !== session) return this.#state; // the session ended while starting (revoked: wiped)
      this.#session = null;
      await this.#close(session, { forget: false });
      throw err;
    }
    if (this.#session !== session) return this.#state;
    for (const location of await session.store.locations()) this.#locationNames.set(location.id, location.name);
    this.#lastActivity = this.#o.now();
    this.#startIdleTimer();
    this.#emit({ event: 'syncStatus', payload: session.client.status });
    return this.#setState({ screen: 'console', user: session.user, idleLockMs: this.#o.idleLockMs });
  }

  #wire(session: ActiveSession): void {
    const { client } = session;
    client.on('status', (status) => {
      if (this.#session === session) this.#emit({ event: 'syncStatus', payload: status });
    });
    client.on('change', (change) => {
      if (this.#session !== session || this.#state.screen !== 'console') return;
      this.#emit({ event: 'dataChanged', payload: { ...change, locationIds: [...change.locationIds] } });
    });
    client.on('locationDropped', (dropped) => {
      if (this.#session !== session) return;
      this.#emit({
        event: 'notice',
        payload: {
          kind: 'location_removed', locationId: dropped.locationId, locationName: this.#locationNames.get(dropped.locationId) ?? null,
          reason: dropped.reason, discardedEdits: dropped.discardedEdits,
        },
      });
    });
    client.on('sessionEnded', (ended) => this.#onSessionEnded(session, ended));
    client.on('protocolError', ({ event }) => this.#o.log.warn('the server sent a message the console refused', { event }));
  }

  #onSessionEnded(session: ActiveSession, ended: SessionEndedEvent): void {
    if (this.#session !== session) return;
    this.#session = null;
    this.#stopIdleTimer();
    if (ended.wipe) {
      this.#setState({ screen: 'wiped', reason: ended.reason, complete: (ended.wipeReport?.failures.length ?? 0) === 0 });
      void this.#o.verifiers.delete(session.profileId).catch(() => false);
    } else if (this.#serverOrigin) {
      this.#setState({ screen: 'sign_in', serverUrl: this.#serverOrigin, notice: 'session_expired' });
    }
    this.#emit({ event: 'syncStatus', payload: signedOutStatus });
    void this.#close(session, { forget: false }).catch(() => undefined);
  }

  /* ------------------------------------------------------------------ lock and sign-out */

  lock(reason: 'manual' | 'idle' | 'system' = 'manual'): Promise<ConsoleState> {
    const session = this.#session;
    if (session && this.#state.screen === 'console') this.#setState({ screen: 'locked', user: session.user, reason });
    return Promise.resolve(this.#state);
  }

  unlock(args: BridgeArgs<'unlock'>): Promise<ConsoleState> {
    return this.#exclusive(async () => {
      const session = this.#session;
      if (!session || this.#state.screen !== 'locked') return this.#state;
      if (await verifyPassword(session.verifier, args.password)) {
        session.failedUnlocks = 0;
        this.#lastActivity = this.#o.now();
        return this.#setState({ screen: 'console', user: session.user, idleLockMs: this.#o.idleLockMs });
      }
      session.failedUnlocks++;
      if (session.failedUnlocks >= maxFailedUnlocks) {
        await this.#signOut();
        throw new ConsoleError('invalid_credentials', `Wrong password ${maxFailedUnlocks} times: you were signed out. Sign in again.`);
      }
      throw new ConsoleError('invalid_credentials', `That password is not right (${maxFailedUnlocks - session.failedUnlocks} attempts left before sign-out).`);
    });
  }

  signOut(): Promise<ConsoleState> {
    return this.#exclusive(() => this.#signOut());
  }

  async #signOut(): Promise<ConsoleState> {
    const session = this.#session;
    this.#session = null;
    this.#stopIdleTimer();
    await this.#dropEnrollment();
    if (session) {
      // The local data stays, encrypted (unsent edits go out at the next sign-in); what lets
      // anyone back in without the server, the refresh token and the unlock verifier, goes.
      // Ends the server session too, so the device's tokens are worthless even if copied.
      await session.client.signOut().catch(() => undefined);
      await this.#close(session, { forget: false });
      await this.#o.vault.deleteRefreshToken(session.profileId).catch(() => false);
      await this.#o.verifiers.delete(session.profileId).catch(() => false);
      this.#emit({ event: 'syncStatus', payload: signedOutStatus });
    }
    if (!this.#serverOrigin) return this.#state;
    return this.#setState({ screen: 'sign_in', serverUrl: this.#serverOrigin, notice: session ? 'signed_out' : null });
  }

  reportActivity(): Promise<null> {
    if (this.#state.screen === 'console') this.#lastActivity = this.#o.now();
    return Promise.resolve(null);
  }

  #startIdleTimer(): void {
    this.#stopIdleTimer();
    this.#idleTimer = setInterval(() => this.checkIdle(), this.#o.idleCheckMs);
    this.#idleTimer.unref();
  }

  #stopIdleTimer(): void {
    clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** Locks when the user has been idle for the policy's time. Runs on a timer; exposed for tests. */
  checkIdle(): void {
    if (this.#state.screen === 'console' && this.#o.now() - this.#lastActivity >= this.#o.idleLockMs) void this.lock('idle');
  }

  /** Stops syncing and closes the database (app quit). The session stays for the next start. */
  async dispose(): Promise<void> {
    this.#stopIdleTimer();
    this.#listeners.clear();
    await this.#exclusive(async () => {
      await this.#dropEnrollment();
      const session = this.#session;
      this.#session = null;
      if (session) await this.#close(session, { forget: false });
    });
  }

  /* ------------------------------------------------------------------- data and sync */

  #unlocked(): ActiveSession {
    const session = this.#session;
    if (session && this.#state.screen === 'console') return session;
    if (session) throw new ConsoleError('locked', 'The console is locked. Unlock it to see data.');
    throw new ConsoleError('not_signed_in', 'Sign in to see data.');
  }

  /** Connection and pending edits carry no depot data, so they are answered while locked too. */
  syncStatus(): Promise<SyncStatusView> {
    return Promise.resolve(this.#session?.client.status ?? signedOutStatus);
  }

  /* --------------------------------------------------------------------------- helpers */

  #newClient(profile: Profile, store: LocalStore): SyncClient {
    return new SyncClient({
      serverUrl: this.#o.serverUrl, profileId: profile.profileId, dbPath: profile.dbPath, store, vault: this.#o.vault, log: this.#o.log,
      ...(this.#o.deviceName ? { deviceName: this.#o.deviceName } : {}),
      ...this.#o.sync,
    });
  }

  async #close(open: OpenProfile, options: { forget: boolean }): Promise<void> {
    await open.client.dispose().catch(() => undefined);
    if (!open.store.closed) await open.store.close().catch(() => undefined);
    if (options.forget) {
      await wipeProfile({ ...open, vault: this.#o.vault, sessionSecrets: this.#o.vault }).catch(() => undefined);
      await this.#o.verifiers.delete(open.profileId).catch(() => false);
    }
  }

  async #dropEnrollment(): Promise<void> {
    const pending = this.#enrollment;
    this.#enrollment = null;
    if (pending) await this.#close(pending, { forget: pending.fresh });
  }

  #isProblem(err: unknown): boolean {
    return err instanceof KeychainUnavailableError || err instanceof ProfileMismatchError || (err instanceof Error && [
      'KeychainEntryInvalidError', 'DatabaseKeyMissingError', 'DatabaseKeyMismatchError', 'DatabaseCorruptError', 'DatabaseTooNewError',
    ].includes(err.name));
  }

  /** The error screens: keychain, database, profile. Anything else is thrown to the caller. */
  #problem(err: unknown, profile: Profile): ConsoleState {
    if (!this.#isProblem(err) || !(err instanceof Error)) throw err;
    let problem: ConsoleProblem = 'database_unavailable';
    let canStartOver = true;
    if (err instanceof KeychainUnavailableError) {
      problem = 'keychain_unavailable';
      canStartOver = false;
    } else if (err instanceof ProfileMismatchError) {
      problem = 'profile_mismatch';
      canStartOver = false;
    } else if (err.name === 'DatabaseTooNewError') {
      canStartOver = false;
    }
    this.#problemProfile = canStartOver ? profile : null;
    return this.#setState({ screen: 'error', problem, message: err.message, canStartOver });
  }
}


function userViewOf(me: Me): UserView {
  return { id: me.user.id, username: me.user.username, displayName: me.user.displayName };
}
