import type { ConnectionStateView, DropLocation, SessionEnded, SyncStatusView } from '@depotline/shared';
import type { WipeReport } from '../profile/profile-store';
import type { StoreChange } from '../store/local-store';

/* What the sync client tells its owner: its status, the events it emits, and its log lines. */

/** The status crosses the bridge as it is, so the bridge contract declares it. */
export type ConnectionState = ConnectionStateView;
export type SyncStatus = SyncStatusView;

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

/** No customer data goes through here: only event names, codes and counts. */
export interface SyncLog {
  warn(message: string, fields?: Record<string, string | number | boolean | null>): void;
}
