import type { BridgeEventMessage, SyncStatusView } from '@depotline/shared';
import type { SessionEndedEvent, SyncClient, SyncLog } from '../../core';

/** Nobody is signed in: no connection and nothing pending, whatever a closed client last said. */
export const signedOutStatus: SyncStatusView = { connection: 'signed_out', pendingCount: 0, lastSyncAt: null, lastError: null };

/**
 * The pushes for the renderer (state, sync status, data changes, notices). A listener that
 * throws is logged and skipped: one broken window must not stop the others, nor the
 * transition that announced it.
 */
export class ConsoleEvents {
  readonly #listeners = new Set<(message: BridgeEventMessage) => void>();
  readonly #log: SyncLog;

  constructor(log: SyncLog) {
    this.#log = log;
  }

  /** Returns the unsubscribe. */
  on(listener: (message: BridgeEventMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(message: BridgeEventMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (err) {
        this.#log.warn('event listener failed', { error: err instanceof Error ? err.name : 'unknown' });
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/** What decides whether a session's sync event reaches the renderer. */
export interface SyncForwarding {
  /** False once the session is closed: a closed client's late events are dropped. */
  isCurrent: () => boolean;
  /** Data changes are announced only while the console shows data (not while locked). */
  showsData: () => boolean;
  /** A dropped depot's name, kept from before its data went. */
  locationName: (locationId: string) => string | null;
  sessionEnded: (ended: SessionEndedEvent) => void;
}

/** Turns one session's sync events into pushes for the renderer. */
export function forwardSyncEvents(client: SyncClient, events: ConsoleEvents, rules: SyncForwarding, log: SyncLog): void {
  client.on('status', (status) => {
    if (rules.isCurrent()) events.emit({ event: 'syncStatus', payload: status });
  });
  client.on('change', (change) => {
    if (!rules.isCurrent() || !rules.showsData()) return;
    events.emit({ event: 'dataChanged', payload: { ...change, locationIds: [...change.locationIds] } });
  });
  client.on('locationDropped', (dropped) => {
    if (!rules.isCurrent()) return;
    events.emit({
      event: 'notice',
      payload: {
        kind: 'location_removed', locationId: dropped.locationId, locationName: rules.locationName(dropped.locationId),
        reason: dropped.reason, discardedEdits: dropped.discardedEdits,
      },
    });
  });
  client.on('sessionEnded', (ended) => rules.sessionEnded(ended));
  client.on('protocolError', ({ event }) => log.warn('the server sent a message the console refused', { event }));
}
