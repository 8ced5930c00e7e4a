import fs from 'node:fs';
import type { BridgeArgs, BridgeEventMessage, ConsoleState, SyncStatusView } from '@depotline/shared';
import {
  DeviceEnrollment, InsecureServerUrlError, KeytarDeviceKeyStore, parseServerUrl, reenrollProfile, ServerRequestError, ServerUnreachableError, openProfileStore, ProfileOfflineLockedError, type ServerNetwork,
  type DeviceKeyStore, type KeyVault, type LocalStore, type SessionEndedEvent, type SessionSecretVault, type SyncLog,
} from '../../core';
import { ConsoleData } from './console-data';
import { ConsoleError, problemScreenFor } from './console-error';
import { type EtaPolicy, etaSettingsFor } from './eta-policy';
import { ConsoleEvents, forwardSyncEvents, signedOutStatus } from './console-events';
import { ConsoleGovernance } from './console-governance';
import { ConsoleIntegrations } from './console-integrations';
import { ConsolePrivacy } from './console-privacy';
import { ConsoleTracking } from './console-tracking';
import { ConsoleProofs } from './console-proofs';
import { ConsolePlanning } from './console-planning';
import { ConsoleStopOrders } from './console-stop-orders';
import { ConsoleMap } from './console-map';
import { type ChooseOpenPath, ConsoleImport } from './console-import';
import { ConsoleSecurity } from './console-security';
import { SignInSteps } from './console-sign-in-steps';
import {
  closeProfile, newSyncClient,
  type ActiveSession, type OpenProfile, type Profile, type SyncTuning,
} from './console-session';
import type { ChooseSavePath } from './export-save';
import { IdleLock } from './idle-lock';
import type { MapTilesPolicy } from './map-tiles';
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
  /** The depot's map tile server (managed policy `mapTiles`); absent or null: the map draws without tiles. */
  mapTiles?: MapTilesPolicy | null;
  /** Tuning of the sync client (tests shorten its delays). */
  sync?: SyncTuning;
  log?: SyncLog;
  now?: () => number;
  /** How often the idle lock is checked. */
  idleCheckMs?: number;
  /** Opens a URL in the system browser (Electron: shell.openExternal), for the security-key page. */
  openExternal?: (url: string) => Promise<void>;
  /** Asks where to save an export (Electron: the native save dialog); without it the console cannot export. */
  chooseSavePath?: ChooseSavePath;
  /** Asks which order file to import (Electron: the native open dialog); without it the console cannot import. */
  chooseOpenPath?: ChooseOpenPath;
  /** How the board estimates arrival times, per depot (managed policy `eta`); absent: the defaults. */
  eta?: EtaPolicy;
  /** Managed policy `podOfflineCache`: proof files may be kept locally for offline viewing. Absent: false, never. */
  podOfflineCache?: boolean;
  /** Managed policy `offlineDays`: past it without reaching the server, the profile's data locks until an online sign-in. Absent: no limit. */
  offlineDays?: number;
  /** Managed policy pinned certificate and proxy, for every request and socket of the sync client. Absent: system trust, direct. */
  network?: ServerNetwork;
  /**
   * Managed policy `requireEnrolledDevices`: every online sign-in is signed with this computer's
   * device key (core DeviceEnrollment); an unenrolled console first enrolls with `enrollmentToken`.
   * The server (DEPOTLINE_REQUIRE_ENROLLED_DEVICES) is what refuses unsigned sign-ins.
   */
  requireEnrolledDevices?: boolean;
  /** Managed policy `enrollmentToken`: the one-time token an unenrolled console enrolls with. */
  enrollmentToken?: string;
  /** Where the device key is kept; default the OS keychain (KeytarDeviceKeyStore). */
  deviceKeys?: DeviceKeyStore;
}


/** Wrong unlock passwords before the console signs out and asks for a full sign-in again. */
export const maxFailedUnlocks = 5;

/**
 * The logic behind every bridge call, and nothing Electron: the main process and the e2e test
 * host run exactly this. It is the console's screen state machine: it owns the screen the
 * console shows (`ConsoleState`), the signed-in profile (encrypted store + sync client), and the
 * lock and idle lock. Pushes to the renderer go through console-events.ts, error screens come
 * from console-error.ts, and `data` (console-data.ts) answers the read and edit calls.
 *
 * Lock semantics: while locked or signed out, every data call fails with `locked` and no data
 * change is announced, so the renderer has nothing to draw until the user re-authenticates.
 */
export class ConsoleService {
  readonly #o: Required<Omit<ConsoleServiceOptions, 'deviceName' | 'sync' | 'openExternal' | 'chooseSavePath' | 'chooseOpenPath' | 'eta' | 'mapTiles' | 'podOfflineCache' | 'offlineDays' | 'network' | 'requireEnrolledDevices' | 'enrollmentToken' | 'deviceKeys'>>
    & Pick<ConsoleServiceOptions, 'deviceName' | 'sync' | 'openExternal' | 'chooseSavePath' | 'chooseOpenPath' | 'eta' | 'mapTiles' | 'podOfflineCache' | 'offlineDays' | 'network' | 'requireEnrolledDevices' | 'enrollmentToken' | 'deviceKeys'>;
  readonly #serverOrigin: string | null;
  /** This computer as an enrolled device, where the policy requires enrolled devices. */
  readonly #enrollment: DeviceEnrollment | null;
  #state: ConsoleState = { screen: 'starting' };
  #session: ActiveSession | null = null;
  /** A sign-in waiting on a step (authenticator enrollment, approval, new password). */
  readonly #steps: SignInSteps;
  #problemProfile: Profile | null = null;
  readonly #idle: IdleLock;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #events: ConsoleEvents;
  readonly #locationNames = new Map<string, string>();
  /** The read and edit calls; each refuses unless the console is unlocked. */
  readonly data: ConsoleData;
  /** The Security screen's calls; each refuses unless the console is unlocked. */
  readonly security: ConsoleSecurity;
  /** The governance screens' calls (groups, approvals, exports); each refuses unless the console is unlocked. */
  readonly governance: ConsoleGovernance;
  /** The Integrations screen's calls (admins); each refuses unless the console is unlocked. */
  readonly integrations: ConsoleIntegrations;
  /** The Privacy screen's calls (admins): requests, customers, retention, holds. */
  readonly privacy: ConsolePrivacy;
  /** The stop detail's customer tracking links (`tracking.manage`), asked of the server. */
  readonly tracking: ConsoleTracking;
  /** The stop detail's proof of delivery, fetched from the server on demand. */
  readonly proofs: ConsoleProofs;
  /** The planning screens' calls (routes, stops, crews, fleet); each refuses unless the console is unlocked. */
  readonly planning: ConsolePlanning;
  /** The stop editor's calls; each refuses unless the console is unlocked. */
  readonly stopOrders: ConsoleStopOrders;
  /** The board map's data (console-map.ts); refuses unless the console is unlocked. */
  readonly map: ConsoleMap;
  /** The order import (console-import.ts); each call refuses unless the console is unlocked. */
  readonly imports: ConsoleImport;

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
    this.#enrollment = origin && options.requireEnrolledDevices
      ? new DeviceEnrollment(parseServerUrl(options.serverUrl), options.deviceKeys ?? new KeytarDeviceKeyStore(), options.network ? { network: options.network } : {})
      : null;
    if (origin) this.#state = { screen: 'sign_in', serverUrl: origin, notice: null };
    this.#events = new ConsoleEvents(this.#o.log);
    this.#idle = new IdleLock({ idleLockMs: this.#o.idleLockMs, checkMs: this.#o.idleCheckMs, now: this.#o.now });
    this.data = new ConsoleData({
      session: () => this.#unlocked(),
      now: this.#o.now,
      activity: () => this.#idle.touch(),
      locationNames: this.#locationNames,
      etaSettings: (locationId) => etaSettingsFor(options.eta, locationId),
    });
    this.#steps = new SignInSteps({
      state: () => this.#state,
      setState: (state) => this.#setState(state),
      activate: (open, verifier) => this.#activate(open, verifier),
      exclusive: (fn) => this.#exclusive(fn),
      signedIn: () => this.#session !== null,
      serverOrigin: origin,
      openExternal: options.openExternal,
      vault: this.#o.vault,
      verifiers: this.#o.verifiers,
      log: this.#o.log,
    });
    this.security = new ConsoleSecurity({
      session: () => this.#unlocked(),
      serverOrigin: origin,
      openExternal: options.openExternal,
      verifiers: this.#o.verifiers,
      activity: () => this.#idle.touch(),
    });
    this.governance = new ConsoleGovernance({
      session: () => this.#unlocked(),
      chooseSavePath: options.chooseSavePath,
      activity: () => this.#idle.touch(),
    });
    this.integrations = new ConsoleIntegrations({ session: () => this.#unlocked(), activity: () => this.#idle.touch() });
    this.privacy = new ConsolePrivacy({ session: () => this.#unlocked(), activity: () => this.#idle.touch(), chooseSavePath: options.chooseSavePath });
    this.tracking = new ConsoleTracking({ session: () => this.#unlocked(), activity: () => this.#idle.touch() });
    this.proofs = new ConsoleProofs({
      session: () => this.#unlocked(), activity: () => this.#idle.touch(), chooseSavePath: options.chooseSavePath, offlineCache: options.podOfflineCache ?? false,
    });
    const planning = { session: () => this.#unlocked(), now: this.#o.now, activity: () => this.#idle.touch() };
    this.planning = new ConsolePlanning(planning);
    this.stopOrders = new ConsoleStopOrders(planning);
    this.map = new ConsoleMap({ session: () => this.#unlocked(), tiles: options.mapTiles ?? null });
    this.imports = new ConsoleImport({
      session: () => this.#unlocked(), chooseOpenPath: options.chooseOpenPath, now: this.#o.now, activity: () => this.#idle.touch(),
    });
  }

  /** Pushes for the renderer (state, sync status, data changes, notices). Returns the unsubscribe. */
  onEvent(listener: (message: BridgeEventMessage) => void): () => void {
    return this.#events.on(listener);
  }

  #setState(state: ConsoleState): ConsoleState {
    this.#state = state;
    this.#events.emit({ event: 'state', payload: state });
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
    return this.#signIn(args, 'password');
  }

  /** The password, then a security key on the server's page (console-sign-in-steps.ts). */
  signInWithSecurityKey(args: BridgeArgs<'signInWithSecurityKey'>): Promise<ConsoleState> {
    return this.#signIn(args, 'security_key');
  }

  #signIn(args: BridgeArgs<'signIn'>, factor: 'password' | 'security_key'): Promise<ConsoleState> {
    return this.#exclusive(async () => {
      const screen = this.#state.screen;
      if (screen !== 'sign_in' && screen !== 'error' && screen !== 'wiped') throw new ConsoleError('bad_request', 'Sign out first.');
      if (!this.#serverOrigin) return this.#state;
      const username = args.username.trim();
      const profileId = profileIdFor(this.#serverOrigin, username);
      const profile: Profile = { profileId, dbPath: profileDbPath(this.#o.profilesDir, profileId) };
      const existed = fs.existsSync(profile.dbPath);

      let store: LocalStore;
      // Past the policy's offline days the data stays shut until the server accepts this sign-in.
      let offlineLocked: ProfileOfflineLockedError | null = null;
      const offlineLock = this.#o.offlineDays !== undefined ? { offlineDays: this.#o.offlineDays, now: this.#o.now } : undefined;
      try {
        try {
          store = await openProfileStore({ ...profile, vault: this.#o.vault, offlineLock });
        } catch (err) {
          if (!(err instanceof ProfileOfflineLockedError)) throw err;
          offlineLocked = err;
          store = await openProfileStore({ ...profile, vault: this.#o.vault, offlineLock, forOnlineSignIn: true });
        }
      } catch (err) {
        return this.#problem(err, profile);
      }
      const open: OpenProfile = { ...profile, store, client: newSyncClient(profile, store, { ...this.#o, deviceProof: this.#enrollment?.prove }) };
      try {
        // A session this device already holds, unlocked by the password that proved itself
        // online before (with its second factor): works while the server is down, unless the
        // offline lock holds the data.
        if (existed && !offlineLocked) {
          const [refreshToken, verifier] = await Promise.all([this.#o.vault.getRefreshToken(profileId), this.#o.verifiers.get(profileId)]);
          if (refreshToken && verifier && (await verifyPassword(verifier, args.password))) return await this.#activate(open, verifier);
        }
        const verifier = await makeVerifier(args.password, { id: 'pending', username, displayName: username });
        const pending = { ...open, username, fresh: !existed, verifier };
        await this.#enrollIfNeeded(args.enrollmentToken);
        if (factor === 'security_key') return await this.#steps.startKeySignIn(pending, { username, password: args.password });
        const outcome = await open.client.signIn({ username, password: args.password, ...(args.totp ? { totp: args.totp } : {}) });
        return await this.#steps.continue(pending, outcome);
      } catch (err) {
        if (this.#session?.profileId === profileId) throw err; // activated, then failed: #activate cleaned up
        await closeProfile(open, { forget: !existed }, this.#o);
        if (await this.#refusedUnenrolled(err)) {
          throw new ConsoleError('device_not_enrolled', `${err instanceof Error ? err.message.slice(0, 500) : ''} Or type the enrollment token IT gave you.`.trim());
        }
        if (offlineLocked && err instanceof ServerUnreachableError) return this.#problem(offlineLocked, profile);
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
        return this.#problem(err, profile);
      }
    });
  }

  /**
   * Before an online sign-in where enrolled devices are required: an unenrolled console enrolls
   * with the policy's token, or else the one the user typed in after a `device_not_enrolled`
   * refusal (spent once; the key goes to the keychain only when the server took it). Without a
   * token the sign-in goes ahead unsigned and the server's refusal asks for one. A refused typed
   * token answers the server's words and nothing is kept; the token itself is never logged.
   */
  async #enrollIfNeeded(typed: string | undefined): Promise<void> {
    const token = this.#o.enrollmentToken ?? typed;
    if (!this.#enrollment || !token || (await this.#enrollment.isEnrolled())) return;
    try {
      await this.#enrollment.enroll(token, { name: this.#o.deviceName ?? 'Depotline console', platform: process.platform });
    } catch (err) {
      if (token !== typed || !(err instanceof ServerRequestError) || (err.code !== 'unauthenticated' && err.code !== 'bad_request')) throw err;
      throw new ConsoleError('device_not_enrolled', err.message.slice(0, 500));
    }
  }

  /** The server refused an unsigned sign-in from this unenrolled computer, and no policy token can enroll it: a typed token can. */
  async #refusedUnenrolled(err: unknown): Promise<boolean> {
    return err instanceof ServerRequestError && err.code === 'forbidden' && this.#enrollment !== null && !this.#o.enrollmentToken
      && !(await this.#enrollment.isEnrolled());
  }

  confirmMfaEnrollment(args: BridgeArgs<'confirmMfaEnrollment'>): Promise<ConsoleState> {
    return this.#exclusive(() => this.#steps.confirmMfaEnrollment(args));
  }

  completePasswordChange(args: BridgeArgs<'completePasswordChange'>): Promise<ConsoleState> {
    return this.#exclusive(() => this.#steps.completePasswordChange(args));
  }

  backToSignIn(): Promise<ConsoleState> {
    return this.#exclusive(async () => {
      const screen = this.#state.screen;
      if (screen === 'console' || screen === 'locked' || !this.#serverOrigin) return this.#state;
      await this.#steps.drop();
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
      await closeProfile(session, { forget: false }, this.#o);
      throw err;
    }
    if (this.#session !== session) return this.#state;
    for (const location of await session.store.locations()) this.#locationNames.set(location.id, location.name);
    this.#idle.touch();
    this.#idle.start(() => this.checkIdle());
    this.#events.emit({ event: 'syncStatus', payload: session.client.status });
    return this.#setState({ screen: 'console', user: session.user, idleLockMs: this.#o.idleLockMs });
  }

  #wire(session: ActiveSession): void {
    forwardSyncEvents(session.client, this.#events, {
      isCurrent: () => this.#session === session,
      showsData: () => this.#state.screen === 'console',
      locationName: (locationId) => this.#locationNames.get(locationId) ?? null,
      sessionEnded: (ended) => this.#onSessionEnded(session, ended),
    }, this.#o.log);
  }

  #onSessionEnded(session: ActiveSession, ended: SessionEndedEvent): void {
    if (this.#session !== session) return;
    this.#session = null;
    this.#idle.stop();
    if (ended.wipe) {
      this.#setState({ screen: 'wiped', reason: ended.reason, complete: (ended.wipeReport?.failures.length ?? 0) === 0 });
      void this.#o.verifiers.delete(session.profileId).catch(() => false);
    } else if (this.#serverOrigin) {
      this.#setState({ screen: 'sign_in', serverUrl: this.#serverOrigin, notice: 'session_expired' });
    }
    this.#events.emit({ event: 'syncStatus', payload: signedOutStatus });
    void closeProfile(session, { forget: false }, this.#o).catch(() => undefined);
  }

  /* ------------------------------------------------------------------ lock and sign-out */

  lock(reason: 'manual' | 'idle' | 'system' = 'manual'): Promise<ConsoleState> {
    const session = this.#session;
    // An order file read for import holds customer data: it is not kept across a lock.
    this.imports.discard();
    if (session && this.#state.screen === 'console') this.#setState({ screen: 'locked', user: session.user, reason });
    return Promise.resolve(this.#state);
  }

  unlock(args: BridgeArgs<'unlock'>): Promise<ConsoleState> {
    return this.#exclusive(async () => {
      const session = this.#session;
      if (!session || this.#state.screen !== 'locked') return this.#state;
      if (await verifyPassword(session.verifier, args.password)) {
        session.failedUnlocks = 0;
        this.#idle.touch();
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
    this.imports.discard();
    this.#idle.stop();
    await this.#steps.drop();
    if (session) {
      // The local data stays, encrypted (unsent edits go out at the next sign-in); what lets
      // anyone back in without the server, the refresh token and the unlock verifier, goes.
      // Ends the server session too, so the device's tokens are worthless even if copied.
      await session.client.signOut().catch(() => undefined);
      await closeProfile(session, { forget: false }, this.#o);
      await this.#o.vault.deleteRefreshToken(session.profileId).catch(() => false);
      await this.#o.verifiers.delete(session.profileId).catch(() => false);
      this.#events.emit({ event: 'syncStatus', payload: signedOutStatus });
    }
    if (!this.#serverOrigin) return this.#state;
    return this.#setState({ screen: 'sign_in', serverUrl: this.#serverOrigin, notice: session ? 'signed_out' : null });
  }

  reportActivity(): Promise<null> {
    if (this.#state.screen === 'console') this.#idle.touch();
    return Promise.resolve(null);
  }

  /** Locks when the user has been idle for the policy's time. Runs on a timer; exposed for tests. */
  checkIdle(): void {
    if (this.#state.screen === 'console' && this.#idle.expired) void this.lock('idle');
  }

  /** Stops syncing and closes the database (app quit). The session stays for the next start. */
  async dispose(): Promise<void> {
    this.#idle.stop();
    this.#events.clear();
    await this.#exclusive(async () => {
      await this.#steps.drop();
      const session = this.#session;
      this.#session = null;
      if (session) await closeProfile(session, { forget: false }, this.#o);
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

  /* --------------------------------------------------------------- closing and problems */

  /** The error screens: keychain, database, profile. Anything else is thrown to the caller. */
  #problem(err: unknown, profile: Profile): ConsoleState {
    const screen = problemScreenFor(err);
    if (!screen) throw err;
    this.#problemProfile = screen.canStartOver ? profile : null;
    return this.#setState(screen);
  }
}
