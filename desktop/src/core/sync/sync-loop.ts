import type { Change, DropLocation, SessionEnded } from '@depotline/shared';
import { ServerDataRejectedError, ServerRequestError, StoreClosedError } from '../errors';
import type { LocalStore } from '../store/local-store';
import type { Listeners } from './listeners';
import { RetentionSweeper } from './local-retention';
import type { RetryTimer } from './retry-timer';
import type { SyncChannel } from './sync-channel';
import { pullLocation, pushOutbox, refreshLocations } from './sync-cycle';
import type { SyncEvents, SyncLog } from './sync-events';
import type { SyncStatusTracker } from './sync-status';

export interface SyncLoopOptions {
  channel: SyncChannel;
  store: LocalStore;
  status: SyncStatusTracker;
  retry: RetryTimer;
  events: Listeners<SyncEvents>;
  log: SyncLog;
  pullPageSize: number;
  now: () => number;
  /** False once the client stopped or its session ended: the loop winds down. */
  running: () => boolean;
  /** The server ended the session (a live `session:ended`). */
  endSession: (reason: SessionEnded['reason'], wipe: boolean) => Promise<void>;
}

/**
 * What the client does while connected: pushes the outbox, refreshes the location list and
 * pulls each location to its end, one run at a time, and applies what the server pushes live
 * in arrival order. Requests made while a run is going are folded into its next round.
 */
export class SyncLoop {
  readonly #o: SyncLoopOptions;
  /** Local retention: expired customer data leaves this file even while offline. */
  readonly retention: RetentionSweeper;
  #wantFull = false;
  #wantPush = false;
  #loop: Promise<void> | null = null;
  #live: Promise<void> = Promise.resolve();

  constructor(options: SyncLoopOptions) {
    this.#o = options;
    this.retention = new RetentionSweeper({ store: options.store, now: options.now, log: options.log });
  }

  /** The run in progress, if any. */
  get current(): Promise<void> | null {
    return this.#loop;
  }

  /** Resolves when the run in progress (if any) and every live message received so far are through. */
  async quiesce(): Promise<void> {
    await this.#loop?.catch(() => undefined);
    await this.#live;
  }

  request(what: { full?: boolean; push?: boolean }): void {
    if (what.full) this.#wantFull = true;
    if (what.push) this.#wantPush = true;
    if (!this.#loop && this.#o.channel.connected) this.#loop = this.#work().finally(() => (this.#loop = null));
  }

  onServerEvent(event: 'sync:change' | 'sync:dropLocation' | 'session:ended', payload: unknown): void {
    if (event === 'sync:change') {
      const change = payload as Change;
      // Applied in arrival order; the store's version guard makes overlap with a pull harmless.
      this.#live = this.#live.then(() => this.#applyLive(change));
    } else if (event === 'sync:dropLocation') {
      const drop = payload as DropLocation;
      this.#live = this.#live.then(async () => {
        const dropped = await this.#o.store.dropLocation(drop.locationId);
        this.#o.events.emit('locationDropped', { locationId: drop.locationId, reason: drop.reason, discardedEdits: dropped.discardedEdits });
      }).catch((err: unknown) => this.#o.status.noteError(err));
    } else {
      const ended = payload as SessionEnded;
      this.#live = this.#live.then(() => this.#o.endSession(ended.reason, ended.wipe)).catch((err: unknown) => this.#o.status.noteError(err));
    }
  }

  protocolError(event: string, reason: string): void {
    this.#o.log.warn('refused a server message', { event, reason });
    this.#o.events.emit('protocolError', { event, reason });
  }

  async #applyLive(change: Change): Promise<void> {
    try {
      await this.#o.store.applyLiveChange(change);
    } catch (err) {
      if (err instanceof ServerDataRejectedError) {
        this.protocolError('sync:change', err.message);
        // Possibly a location granted since the last list: a full sync brings it in properly.
        this.request({ full: true });
      } else if (!(err instanceof StoreClosedError)) {
        this.#o.status.noteError(err);
      }
    }
  }

  async #work(): Promise<void> {
    const { channel, store, status, now } = this.#o;
    while ((this.#wantFull || this.#wantPush) && channel.connected && this.#o.running()) {
      const full = this.#wantFull;
      this.#wantFull = false;
      this.#wantPush = false;
      try {
        if (full) status.setConnection('syncing');
        await pushOutbox(channel, store, now);
        if (full) await this.#pullEverything();
        this.#o.retry.reset();
        status.clearError();
      } catch (err) {
        if (err instanceof StoreClosedError || status.connection === 'ended') return;
        status.noteError(err);
        if (full) this.#wantFull = true;
        else this.#wantPush = true;
        const delay = err instanceof ServerRequestError && err.retryAfterS !== null ? err.retryAfterS * 1000 : this.#o.retry.nextDelay();
        this.#o.retry.schedule(() => this.request({}), delay);
        return;
      }
    }
    if (channel.connected && this.#o.running()) status.setConnection('live');
  }

  async #pullEverything(): Promise<void> {
    const { channel, store, now } = this.#o;
    const { locationIds, dropped } = await refreshLocations(channel, store);
    for (const d of dropped) this.#o.events.emit('locationDropped', { ...d, reason: 'not_listed' });
    for (const locationId of locationIds) {
      try {
        await pullLocation(channel, store, locationId, this.#o.pullPageSize, now);
      } catch (err) {
        // Access ended between the list and the pull; its drop event follows.
        if (err instanceof ServerRequestError && err.code === 'forbidden') continue;
        throw err;
      }
    }
    // New periods or stops may have come with this sync.
    await this.retention.run();
    this.#o.status.markSynced(this.#o.now());
    await this.#o.status.refreshPendingCount();
  }
}
