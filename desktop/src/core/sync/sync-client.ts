import { maxPullLimit, type Mutation } from '@depotline/shared';
import { z } from 'zod';
import { recordOnline } from '../profile/offline-lock';
import { wipeProfile } from '../profile/profile-store';
import type { BatchOutcome, LocalStore } from '../store/local-store';
import type { KeyVault, SessionSecretVault } from '../vault/key-vault';
import { AccountClient } from './account-client';
import { AuthClient } from './auth-client';
import { GovernanceClient } from './governance-client';
import { IntegrationHooksClient } from './integration-hooks-client';
import { TrackingClient } from './tracking-client';
import { IntegrationsClient } from './integrations-client';
import { PrivacyClient } from './privacy-client';
import { ProofsClient } from './proofs-client';
import { Backoff } from './backoff';
import { Listeners } from './listeners';
import { RetryTimer } from './retry-timer';
import { parseServerUrl } from './server-url';
import type { ApprovalOutcome, HeldSignIn } from './held-sign-in';
import { SessionKeeper, type KeySignInOutcome, type SignInOutcome } from './session-keeper';
import type { KeyCeremony } from './security-key-sign-in';
import type { ServerNetwork } from './server-network';
import { SyncChannel } from './sync-channel';
import { SyncConnection } from './sync-connection';
import type { SyncEvents, SyncLog, SyncStatus } from './sync-events';
import { SyncLoop } from './sync-loop';
import { SyncStatusTracker } from './sync-status';
import type { DeviceProver } from './device-enrollment';

export type { KeySignInOutcome, SignInOutcome } from './session-keeper';
export type { KeyCeremony } from './security-key-sign-in';
export type { ApprovalOutcome, HeldSignIn } from './held-sign-in';

export interface SyncClientOptions {
  serverUrl: string;
  profileId: string;
  dbPath: string;
  store: LocalStore;
  vault: KeyVault & SessionSecretVault;
  /** Sent as the handshake Origin; the server allows `app://depotline` by default. */
  origin?: string;
  deviceName?: string;
  /** Changes per pull page; the server's maximum (maxPullLimit, 1000) by default. */
  pullPageSize?: number;
  ackTimeoutMs?: number;
  retryDelayMs?: number;
  retryDelayMaxMs?: number;
  /** Renew the access token this long before it expires. */
  renewBeforeMs?: number;
  /** First wait between polls of a sign-in held for approval (it grows to five times this). */
  approvalPollMs?: number;
  log?: SyncLog;
  now?: () => number;
  /** The managed policy's pinned certificate and proxy for REST and the socket (server-network.ts). */
  network?: ServerNetwork;
  /** Where the server requires enrolled devices: signs each sign-in with this computer's device key (device-enrollment.ts). */
  deviceProof?: DeviceProver;
}

const consoleLog: SyncLog = { warn: (message, fields) => console.warn(`[depotline sync] ${message}`, fields ?? {}) };

/**
 * Keeps one profile's store in step with the sync server (docs/sync-protocol.md): signs in
 * over REST, holds the socket open with reconnects and backoff (sync-connection.ts), on every
 * connect pushes the outbox, refreshes the location list and pulls each location to its end,
 * and applies live changes as they come (sync-loop.ts). Ends the session, wiping if told to,
 * when the server says so.
 */
export class SyncClient {
  readonly #o: Required<Omit<SyncClientOptions, 'deviceName' | 'network' | 'deviceProof'>> & Pick<SyncClientOptions, 'deviceProof'> & { deviceName: string | undefined };
  readonly #session: SessionKeeper;
  readonly #channel: SyncChannel;
  readonly #events = new Listeners<SyncEvents>();
  readonly #status: SyncStatusTracker;
  readonly #loop: SyncLoop;
  readonly #connection: SyncConnection;
  readonly #unsubscribeStore: () => void;
  /** The signed-in user's account (sessions, devices, alerts, factors) over REST, with this session's token. */
  readonly account: AccountClient;
  /** Permission groups, approval requests and exports over REST, with this session's token. */
  readonly governance: GovernanceClient;
  /** Integrations, their data profile, API keys, webhooks and logs (admins) over REST, with this session's token. */
  readonly integrations: IntegrationsClient;
  /** An integration's webhook subscriptions and logs (admins) over REST, with this session's token. */
  readonly integrationHooks: IntegrationHooksClient;
  /** A stop's customer tracking links (`tracking.manage`) over REST, with this session's token. */
  readonly tracking: TrackingClient;
  /** A stop's proof of delivery (files fetched on demand, never stored by the client) over REST, with this session's token. */
  readonly proofs: ProofsClient;
  /** Customer privacy requests, customer search, retention periods and legal holds (admins) over REST, with this session's token. */
  readonly privacy: PrivacyClient;

  constructor(options: SyncClientOptions) {
    const serverUrl = parseServerUrl(options.serverUrl);
    this.#o = {
      origin: 'app://depotline', pullPageSize: maxPullLimit, ackTimeoutMs: 15_000, retryDelayMs: 500, retryDelayMaxMs: 30_000,
      renewBeforeMs: 60_000, approvalPollMs: 1_000, log: consoleLog, now: Date.now, ...options, serverUrl: serverUrl.origin, deviceName: options.deviceName,
    };
    const rest = { network: options.network };
    const retry = new RetryTimer(new Backoff(this.#o.retryDelayMs, this.#o.retryDelayMaxMs));
    this.#status = new SyncStatusTracker({ store: this.#o.store, log: this.#o.log, announce: (status) => this.#events.emit('status', status) });
    this.#session = new SessionKeeper({
      auth: new AuthClient(serverUrl, rest), store: this.#o.store, vault: this.#o.vault, profileId: this.#o.profileId,
      serverUrl: this.#o.serverUrl, deviceName: this.#o.deviceName, renewBeforeMs: this.#o.renewBeforeMs,
      retry: new Backoff(this.#o.retryDelayMs, this.#o.retryDelayMaxMs), now: this.#o.now, approvalPollMs: this.#o.approvalPollMs,
      // A key ceremony is polled from the same first wait (about a second, as docs/api.md asks).
      keyPollMs: this.#o.approvalPollMs,
      deviceProof: this.#o.deviceProof,
      renewed: async (tokens) => {
        if (this.#channel.connected) await this.#channel.request('auth:renew', { accessToken: tokens.accessToken }, z.object({ expiresAt: z.number() }));
      },
      refused: (code) => this.#connection.endForCode(code),
      failed: (err) => this.#status.noteError(err),
    });
    const tokens = {
      current: () => this.#session.freshAccessToken(),
      renew: () => this.#session.freshAccessToken({ force: true }),
    };
    this.account = new AccountClient(serverUrl, tokens, rest);
    this.governance = new GovernanceClient(serverUrl, tokens, rest);
    this.integrations = new IntegrationsClient(serverUrl, tokens, rest);
    this.integrationHooks = new IntegrationHooksClient(serverUrl, tokens, rest);
    this.tracking = new TrackingClient(serverUrl, tokens, rest);
    this.proofs = new ProofsClient(serverUrl, tokens, rest);
    this.privacy = new PrivacyClient(serverUrl, tokens, rest);
    this.#channel = new SyncChannel(serverUrl, {
      accessToken: () => this.#session.accessToken,
      origin: this.#o.origin,
      ackTimeoutMs: this.#o.ackTimeoutMs,
      reconnectDelayMs: this.#o.retryDelayMs,
      reconnectDelayMaxMs: this.#o.retryDelayMaxMs,
      network: options.network,
    }, {
      connected: () => {
        // The server let this session's socket in: the device is online (profile/offline-lock.ts).
        recordOnline(this.#o.store, this.#o.now()).catch(() => undefined);
        this.#connection.onConnected();
      },
      disconnected: (reason) => this.#connection.onDisconnected(reason),
      connectFailed: (code, willRetry) => void this.#connection.onConnectFailed(code, willRetry),
      event: (event, payload) => this.#loop.onServerEvent(event, payload),
      malformed: (event, reason) => this.#loop.protocolError(event, reason),
    });
    this.#loop = new SyncLoop({
      channel: this.#channel, store: this.#o.store, status: this.#status, retry, events: this.#events, log: this.#o.log,
      pullPageSize: this.#o.pullPageSize, now: this.#o.now,
      running: () => this.#connection.running,
      endSession: (reason, wipe) => this.#connection.endSession(reason, wipe),
    });
    this.#connection = new SyncConnection({
      channel: this.#channel, session: this.#session, status: this.#status, retry, loop: this.#loop, events: this.#events, log: this.#o.log,
      wipe: () => wipeProfile({
        profileId: this.#o.profileId, dbPath: this.#o.dbPath, vault: this.#o.vault, store: this.#o.store, sessionSecrets: this.#o.vault,
      }),
    });
    this.#unsubscribeStore = this.#o.store.subscribe((change) => {
      this.#events.emit('change', change);
      if (change.outbox) void this.#status.refreshPendingCount();
    });
  }

  get status(): SyncStatus {
    return this.#status.snapshot;
  }

  on<E extends keyof SyncEvents>(event: E, listener: (payload: SyncEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Password (and TOTP code when the user has one). Then call start(). */
  async signIn(credentials: { username: string; password: string; totp?: string }): Promise<SignInOutcome> {
    return this.#afterSignIn(await this.#session.signIn(credentials));
  }

  async confirmMfaEnrollment(input: { enrollmentToken: string; code: string }): Promise<SignInOutcome> {
    return this.#afterSignIn(await this.#session.confirmMfaEnrollment(input));
  }

  /** After an administrator's reset: the new password completes the sign-in that asked for it. */
  async completePasswordChange(input: { changeToken: string; newPassword: string }): Promise<SignInOutcome> {
    return this.#afterSignIn(await this.#session.completePasswordChange(input));
  }

  /**
   * Waits for a held sign-in to be decided on another device; on approval the session is this
   * device's, as after any sign-in (then call start()). `signal` cancels the wait.
   */
  async waitForApproval(approval: HeldSignIn, options: { signal?: AbortSignal } = {}): Promise<ApprovalOutcome> {
    const outcome = await this.#session.waitForApproval(approval, options);
    if (outcome.status === 'ok') await this.#afterSignIn(outcome);
    return outcome;
  }

  /** Sign-in with a security key, step one: open the ceremony's page in a browser, then completeKeySignIn. */
  startKeySignIn(credentials: { username: string; password: string }): Promise<KeyCeremony> {
    return this.#session.startKeySignIn(credentials);
  }

  /** Waits for the key on the page and completes the sign-in with it (then call start() when ok). */
  async completeKeySignIn(ceremony: KeyCeremony, options: { signal?: AbortSignal } = {}): Promise<KeySignInOutcome> {
    return this.#afterSignIn(await this.#session.completeKeySignIn(ceremony, options));
  }

  /** A new sign-in after an expired session picks up the same store (a wiped one is closed). */
  async #afterSignIn<O extends { status: string }>(outcome: O): Promise<O> {
    const idle = this.#status.connection === 'signed_out' || this.#status.connection === 'ended';
    if (outcome.status === 'ok' && idle) this.#status.setConnection('offline');
    // The server accepted this user: an offline lock (the policy's offlineDays) starts counting again.
    if (outcome.status === 'ok') {
      await recordOnline(this.#o.store, this.#o.now()).catch((err: unknown) => this.#o.log.warn('could not note the server contact', { error: err instanceof Error ? err.name : 'unknown' }));
    }
    return outcome;
  }

  /**
   * Connects, resuming the stored session if signIn was not called in this process. Without a
   * network the console still starts: it works offline and keeps trying in the background.
   */
  start(): Promise<void> {
    return this.#connection.start();
  }

  /** Disconnects and stops retrying; data, outbox and session stay. */
  stop(): Promise<void> {
    return this.#connection.stop();
  }

  /**
   * Signs the user out: stops syncing, ends the session on the server when it can be reached,
   * and deletes the refresh token. Local data and unsent edits stay (encrypted) for the next
   * sign-in. `serverSessionEnded` is false when the server could not be told (offline): the
   * session then ends at its idle limit.
   */
  async signOut(): Promise<{ serverSessionEnded: boolean }> {
    await this.stop();
    const serverSessionEnded = await this.#session.signOut();
    if (this.#status.connection !== 'ended') this.#status.setConnection('signed_out');
    return { serverSessionEnded };
  }

  /** Stops and forgets listeners; the store stays open (its owner closes it). */
  async dispose(): Promise<void> {
    await this.stop();
    this.#unsubscribeStore();
    this.#events.clear();
  }

  /** Applies a local edit at once and queues it; it is pushed as soon as there is a connection. */
  async edit(mutation: Mutation): Promise<void> {
    await this.#o.store.enqueueLocalEdit(mutation);
    await this.#status.refreshPendingCount();
    this.#loop.request({ push: true });
  }

  /**
   * Queues a batch of edits in one local transaction (an order import) and pushes them as soon
   * as there is a connection; edits the local check refuses are reported, not queued.
   */
  async editBatch(mutations: readonly Mutation[]): Promise<BatchOutcome> {
    const outcome = await this.#o.store.enqueueLocalEdits(mutations);
    await this.#status.refreshPendingCount();
    if (outcome.queued > 0) this.#loop.request({ push: true });
    return outcome;
  }

  /** Push and pull now (also happens on every connect). Resolves when that sync has finished. */
  async syncNow(): Promise<void> {
    this.#loop.request({ full: true });
    await this.#loop.current;
  }
}
