import type { LocalStore } from '../store/local-store';
import type { ConnectionState, SyncLog, SyncStatus } from './sync-events';

/**
 * The sync client's status as its owner sees it. A change of connection, pending count or
 * error is announced at once; a cleared error and the time of the last pull are not announced
 * by themselves and show in the next announcement.
 */
export class SyncStatusTracker {
  readonly #status: SyncStatus = { connection: 'signed_out', pendingCount: 0, lastSyncAt: null, lastError: null };
  readonly #store: LocalStore;
  readonly #log: SyncLog;
  readonly #announce: (status: SyncStatus) => void;

  constructor(options: { store: LocalStore; log: SyncLog; announce: (status: SyncStatus) => void }) {
    this.#store = options.store;
    this.#log = options.log;
    this.#announce = options.announce;
  }

  /** A copy: whoever holds it cannot change the client's status. */
  get snapshot(): SyncStatus {
    return { ...this.#status };
  }

  get connection(): ConnectionState {
    return this.#status.connection;
  }

  /** A getter, so checks after an await read the current state (TS would keep a narrowing). */
  get ended(): boolean {
    return this.#status.connection === 'ended';
  }

  setConnection(connection: ConnectionState): void {
    if (this.#status.connection === connection) return;
    this.#status.connection = connection;
    this.#announce(this.snapshot);
  }

  noteError(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.#status.lastError = { name: e.name, message: e.message };
    this.#log.warn('sync step failed', { error: e.name, message: e.message });
    this.#announce(this.snapshot);
  }

  clearError(): void {
    this.#status.lastError = null;
  }

  markSynced(at: number): void {
    this.#status.lastSyncAt = at;
  }

  /** The last sync time of an earlier run, unless this run has one already. */
  async loadLastSyncAt(): Promise<void> {
    this.#status.lastSyncAt ??= Number(await this.#store.getMeta('lastSyncAt')) || null;
  }

  async refreshPendingCount(): Promise<void> {
    try {
      const pendingCount = await this.#store.pendingCount();
      if (pendingCount !== this.#status.pendingCount) {
        this.#status.pendingCount = pendingCount;
        this.#announce(this.snapshot);
      }
    } catch {
      // The store closed (wiped); the count no longer matters.
    }
  }
}
