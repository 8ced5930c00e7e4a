import { StoreClosedError } from '../errors';
import type { LocalStore } from '../store/local-store';
import type { SyncLog } from './sync-events';

/** How often the sweep runs while the client is started, whether or not it is connected. */
export const retentionSweepIntervalMs = 60 * 60 * 1000;

/**
 * Runs the store's local retention sweep (store/retention-sweep.ts) while the sync client is
 * started: at start, every hour, and after each full sync (which may have brought new periods
 * or stops). No network is needed: an offline console removes expired customer data at the
 * time the server's purge would. Runs one at a time; a failure is logged (counts only) and the
 * next run tries again.
 */
export class RetentionSweeper {
  readonly #o: { store: LocalStore; now: () => number; log: SyncLog; intervalMs: number };
  #timer: ReturnType<typeof setInterval> | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(options: { store: LocalStore; now: () => number; log: SyncLog; intervalMs?: number }) {
    this.#o = { intervalMs: retentionSweepIntervalMs, ...options };
  }

  start(): void {
    if (this.#timer) return;
    void this.run();
    this.#timer = setInterval(() => void this.run(), this.#o.intervalMs);
    // A pending sweep never keeps the process alive on its own.
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One sweep after the ones already asked for; never rejects. */
  run(): Promise<void> {
    this.#running = this.#running.then(() => this.#sweep());
    return this.#running;
  }

  async #sweep(): Promise<void> {
    const { store, now, log } = this.#o;
    if (store.closed) return;
    try {
      const out = await store.sweepExpired(now());
      if (out.discardedEdits > 0) log.warn('retention sweep discarded pending edits of expired stops', { discardedEdits: out.discardedEdits });
    } catch (err) {
      if (err instanceof StoreClosedError) return;
      log.warn('retention sweep failed', { error: err instanceof Error ? err.name : 'unknown' });
    }
  }
}
