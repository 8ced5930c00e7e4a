import { maxPullLimit, type Change, type DropLocation, type ErrorCode, type Mutation, type SessionEnded } from '@depotline/shared';
import { z } from 'zod';
import { NotSignedInError, ServerDataRejectedError, ServerRequestError, StoreClosedError } from '../errors';
import { wipeProfile, type WipeReport } from '../profile/profile-store';
import type { LocalStore, StoreChange } from '../store/local-store';
import type { KeyVault, SessionSecretVault } from '../vault/key-vault';
import { AuthClient } from './auth-client';
import { Backoff } from './backoff';
import { Listeners } from './listeners';
import { parseServerUrl } from './server-url';
import { SessionKeeper, type SignInOutcome } from './session-keeper';
import { SyncChannel } from './sync-channel';
import { pullLocation, pushOutbox, refreshLocations } from './sync-cycle';

export type ConnectionState = 'signed_out' | 'connecting' | 'syncing' | 'live' | 'offline' | 'ended';

export interface SyncStatus {
  connection: ConnectionState;
  /** Local edits the server has not answered yet. */
  pendingCount: number;
  /** When the last full pull finished. */
  lastSyncAt: number | null;
  lastError: { name: string; message: string } | null;
}

export interface LocationDroppedEvent {
  locationId: string;
  reason: DropLocation['reason'] | 'not_listed';
  discardedEdits: number;
}

export interface SessionEndedEvent {
  reason: SessionEnded['reason'];
  wipe: boolean;
  /** What the wipe deleted; null without a wipe (the data stays for the next sign-in). */
  wipeReport: WipeReport | null;
}

export interface SyncEvents extends Record<string, unknown> {
  status: SyncStatus;
  change: StoreChange;
  locationDropped: LocationDroppedEvent;
  sessionEnded: SessionEndedEvent;
  /** A server message refused before it reached the store. */
  protocolError: { event: string; reason: string };
}

export type { SignInOutcome } from './session-keeper';

/** No customer data goes through here: only event names, codes and counts. */
export interface SyncLog {
  warn(message: string, fields?: Record<string, string | number | boolean | null>): void;
}

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
  log?: SyncLog;
  now?: () => number;
}

const consoleLog: SyncLog = { warn: (message, fields) => console.warn(`[depotline sync] ${message}`, fields ?? {}) };

/**
 * Keeps one profile's store in step with the sync server (docs/sync-protocol.md): signs in
 * over REST, holds the socket open with reconnects and backoff, on every connect pushes the
 * outbox, refreshes the location list and pulls each location to its end, and applies live
 * changes as they come. Ends the session, wiping if told to, when the server says so.
 */
export class SyncClient {
  readonly #o: Required<Omit<SyncClientOptions, 'deviceName'>> & { deviceName: string | undefined };
  readonly #session: SessionKeeper;
  readonly #channel: SyncChannel;
  readonly #events = new Listeners<SyncEvents>();
  readonly #retry: Backoff;
  #status: SyncStatus = { connection: 'signed_out', pendingCount: 0, lastSyncAt: null, lastError: null };
  #wantFull = false;
  #wantPush = false;
  #loop: Promise<void> | null = null;
  #live: Promise<void> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | undefined;
  #running = false;
  #unsubscribeStore: () => void;

  constructor(options: SyncClientOptions) {
    const serverUrl = parseServerUrl(options.serverUrl);
    this.#o = {
      origin: 'app://depotline', pullPageSize: maxPullLimit, ackTimeoutMs: 15_000, retryDelayMs: 500, retryDelayMaxMs: 30_000,
      renewBeforeMs: 60_000, log: consoleLog, now: Date.now, ...options, serverUrl: serverUrl.origin, deviceName: options.deviceName,
    };
    this.#retry = new Backoff(this.#o.retryDelayMs, this.#o.retryDelayMaxMs);
    this.#session = new SessionKeeper({
      auth: new AuthClient(serverUrl), store: this.#o.store, vault: this.#o.vault, profileId: this.#o.profileId,
      serverUrl: this.#o.serverUrl, deviceName: this.#o.deviceName, renewBeforeMs: this.#o.renewBeforeMs,
      retry: new Backoff(this.#o.retryDelayMs, this.#o.retryDelayMaxMs), now: this.#o.now,
      renewed: async (tokens) => {
        if (this.#channel.connected) await this.#channel.request('auth:renew', { accessToken: tokens.accessToken }, z.object({ expiresAt: z.number() }));
      },
      refused: (code) => this.#endForCode(code),
      failed: (err) => this.#noteError(err),
    });
    this.#channel = new SyncChannel(serverUrl, {
      accessToken: () => this.#session.accessToken,
      origin: this.#o.origin,
      ackTimeoutMs: this.#o.ackTimeoutMs,
      reconnectDelayMs: this.#o.retryDelayMs,
      reconnectDelayMaxMs: this.#o.retryDelayMaxMs,
    }, {
      connected: () => this.#onConnected(),
      disconnected: (reason) => this.#onDisconnected(reason),
      connectFailed: (code, willRetry) => void this.#onConnectFailed(code, willRetry),
      event: (event, payload) => this.#onServerEvent(event, payload),
      malformed: (event, reason) => this.#protocolError(event, reason),
    });
    this.#unsubscribeStore = this.#o.store.subscribe((change) => {
      this.#events.emit('change', change);
      if (change.outbox) void this.#refreshPendingCount();
    });
  }

  get status(): SyncStatus {
    return { ...this.#status };
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

  /** A new sign-in after an expired session picks up the same store (a wiped one is closed). */
  #afterSignIn(outcome: SignInOutcome): SignInOutcome {
    const idle = this.#status.connection === 'signed_out' || this.#status.connection === 'ended';
    if (outcome.status === 'ok' && idle) this.#setConnection('offline');
    return outcome;
  }

  /**
   * Connects, resuming the stored session if signIn was not called in this process. Without a
   * network the console still starts: it works offline and keeps trying in the background.
   */
  async start(): Promise<void> {
    if (this.#status.connection === 'ended') throw new NotSignedInError();
    if (!(await this.#session.hasStoredSession())) throw new NotSignedInError();
    this.#running = true;
    this.#status.lastSyncAt ??= Number(await this.#o.store.getMeta('lastSyncAt')) || null;
    await this.#refreshPendingCount();
    if (!this.#session.hasTokens) {
      try {
        await this.#session.refresh();
      } catch (err) {
        if (this.#ended || err instanceof NotSignedInError) {
          this.#running = false;
          throw err;
        }
        this.#noteError(err);
        this.#setConnection('offline');
        this.#scheduleReconnect(true);
        return;
      }
    }
    this.#setConnection('connecting');
    this.#channel.connect();
  }

  /** Disconnects and stops retrying; data, outbox and session stay. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#retryTimer);
    this.#session.stopRenewing();
    this.#channel.disconnect();
    await this.#loop?.catch(() => undefined);
    await this.#live;
    if (this.#status.connection !== 'ended') this.#setConnection(this.#session.hasTokens ? 'offline' : 'signed_out');
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
    if (this.#status.connection !== 'ended') this.#setConnection('signed_out');
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
    await this.#refreshPendingCount();
    this.#request({ push: true });
  }

  /** Push and pull now (also happens on every connect). Resolves when that sync has finished. */
  async syncNow(): Promise<void> {
    this.#request({ full: true });
    await this.#loop;
  }

  /** What an auth refusal means for the session: revoked or reused ends it with a wipe. */
  async #endForCode(code: ErrorCode): Promise<void> {
    if (code === 'session_revoked') await this.#endSession('revoked', true);
    else if (code === 'refresh_reused') await this.#endSession('refresh_reused', true);
    else if (code === 'session_expired' || code === 'unauthenticated') await this.#endSession('expired', false);
  }

  async #endSession(reason: SessionEnded['reason'], wipe: boolean): Promise<void> {
    if (this.#status.connection === 'ended') return;
    this.#running = false;
    clearTimeout(this.#retryTimer);
    this.#setConnection('ended');
    this.#channel.disconnect();
    // With a wipe, wipeProfile deletes the refresh token along with the key (and reports it).
    await this.#session.clear({ forget: !wipe });
    const wipeReport = wipe
      ? await wipeProfile({ profileId: this.#o.profileId, dbPath: this.#o.dbPath, vault: this.#o.vault, store: this.#o.store, sessionSecrets: this.#o.vault })
      : null;
    this.#o.log.warn('session ended', { reason, wipe });
    this.#events.emit('sessionEnded', { reason, wipe, wipeReport });
  }

  #onConnected(): void {
    this.#retry.reset();
    this.#setConnection('syncing');
    this.#request({ full: true });
  }

  #onDisconnected(reason: string): void {
    if (this.#status.connection === 'ended') return;
    this.#setConnection(this.#running ? 'offline' : this.#status.connection);
    // The server closed the socket (token expired, session cut off): socket.io-client does not
    // come back by itself after that. Refresh first, which also finds out about a revocation.
    if (this.#running && reason === 'io server disconnect') this.#scheduleReconnect(true);
  }

  async #onConnectFailed(code: string | null, willRetry: boolean): Promise<void> {
    if (!this.#running || this.#status.connection === 'ended') return;
    this.#setConnection('offline');
    if (code === 'session_revoked') return this.#endSession('revoked', true);
    if (code === null && willRetry) return; // transport trouble: socket.io-client backs off and retries
    this.#scheduleReconnect(code === 'unauthenticated' || code === 'session_expired');
  }

  #scheduleReconnect(refreshFirst: boolean): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      void (async () => {
        try {
          if (refreshFirst) await this.#session.refresh();
          if (this.#running) this.#channel.connect();
        } catch (err) {
          if (this.#status.connection === 'ended') return;
          this.#noteError(err);
          this.#scheduleReconnect(refreshFirst);
        }
      })();
    }, this.#retry.next());
    this.#retryTimer.unref();
  }

  #onServerEvent(event: 'sync:change' | 'sync:dropLocation' | 'session:ended', payload: unknown): void {
    if (event === 'sync:change') {
      const change = payload as Change;
      // Applied in arrival order; the store's version guard makes overlap with a pull harmless.
      this.#live = this.#live.then(() => this.#applyLive(change));
    } else if (event === 'sync:dropLocation') {
      const drop = payload as DropLocation;
      this.#live = this.#live.then(async () => {
        const dropped = await this.#o.store.dropLocation(drop.locationId);
        this.#events.emit('locationDropped', { locationId: drop.locationId, reason: drop.reason, discardedEdits: dropped.discardedEdits });
      }).catch((err: unknown) => this.#noteError(err));
    } else {
      const ended = payload as SessionEnded;
      this.#live = this.#live.then(() => this.#endSession(ended.reason, ended.wipe)).catch((err: unknown) => this.#noteError(err));
    }
  }

  async #applyLive(change: Change): Promise<void> {
    try {
      await this.#o.store.applyLiveChange(change);
    } catch (err) {
      if (err instanceof ServerDataRejectedError) {
        this.#protocolError('sync:change', err.message);
        // Possibly a location granted since the last list: a full sync brings it in properly.
        this.#request({ full: true });
      } else if (!(err instanceof StoreClosedError)) {
        this.#noteError(err);
      }
    }
  }

  #request(what: { full?: boolean; push?: boolean }): void {
    if (what.full) this.#wantFull = true;
    if (what.push) this.#wantPush = true;
    if (!this.#loop && this.#channel.connected) this.#loop = this.#work().finally(() => (this.#loop = null));
  }

  async #work(): Promise<void> {
    while ((this.#wantFull || this.#wantPush) && this.#channel.connected && this.#running) {
      const full = this.#wantFull;
      this.#wantFull = false;
      this.#wantPush = false;
      try {
        if (full) this.#setConnection('syncing');
        await pushOutbox(this.#channel, this.#o.store, this.#o.now);
        if (full) await this.#pullEverything();
        this.#retry.reset();
        this.#status.lastError = null;
      } catch (err) {
        if (err instanceof StoreClosedError || this.#status.connection === 'ended') return;
        this.#noteError(err);
        if (full) this.#wantFull = true;
        else this.#wantPush = true;
        const delay = err instanceof ServerRequestError && err.retryAfterS !== null ? err.retryAfterS * 1000 : this.#retry.next();
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => this.#request({}), delay);
        this.#retryTimer.unref();
        return;
      }
    }
    if (this.#channel.connected && this.#running) this.#setConnection('live');
  }

  async #pullEverything(): Promise<void> {
    const { locationIds, dropped } = await refreshLocations(this.#channel, this.#o.store);
    for (const d of dropped) this.#events.emit('locationDropped', { ...d, reason: 'not_listed' });
    for (const locationId of locationIds) {
      try {
        await pullLocation(this.#channel, this.#o.store, locationId, this.#o.pullPageSize, this.#o.now);
      } catch (err) {
        // Access ended between the list and the pull; its drop event follows.
        if (err instanceof ServerRequestError && err.code === 'forbidden') continue;
        throw err;
      }
    }
    this.#status.lastSyncAt = this.#o.now();
    await this.#refreshPendingCount();
  }

  async #refreshPendingCount(): Promise<void> {
    try {
      const pendingCount = await this.#o.store.pendingCount();
      if (pendingCount !== this.#status.pendingCount) {
        this.#status.pendingCount = pendingCount;
        this.#events.emit('status', this.status);
      }
    } catch {
      // The store closed (wiped); the count no longer matters.
    }
  }

  #protocolError(event: string, reason: string): void {
    this.#o.log.warn('refused a server message', { event, reason });
    this.#events.emit('protocolError', { event, reason });
  }

  #noteError(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.#status.lastError = { name: e.name, message: e.message };
    this.#o.log.warn('sync step failed', { error: e.name, message: e.message });
    this.#events.emit('status', this.status);
  }

  /** A getter, so checks after an await read the current state (TS would keep a narrowing). */
  get #ended(): boolean {
    return this.#status.connection === 'ended';
  }

  #setConnection(connection: ConnectionState): void {
    if (this.#status.connection === connection) return;
    this.#status.connection = connection;
    this.#events.emit('status', this.status);
  }
}
