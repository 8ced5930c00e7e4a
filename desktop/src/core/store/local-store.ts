import type {
  Change, ColumnMapping, DataChanged, Driver, DriverPosition, LocationAccess, Mutation, MutationResult, Route, Stop, Vehicle,
} from '@depotline/shared';
import type { DatabaseKey } from '../vault/database-key';
import type { BoardQuery, BoardRow } from './board';
import type { BoardDay } from './board-day';
import type { BatchOutcome } from './import-store';
import type { AckOutcome, PendingMutation, RejectedMutation } from './outbox';
import type { ProofCacheEntry } from './proof-cache';
import type { SweepOutcome } from './retention-sweep';

export type { BoardFilter, BoardQuery, BoardRow, BoardSortKey } from './board';
export type { BoardDay } from './board-day';
export type { AckOutcome, PendingMutation, RejectedMutation } from './outbox';
export type { BatchOutcome } from './import-store';
export type { SweepOutcome } from './retention-sweep';

/** A location this user may see, as the server last described it. */
export interface StoredLocation extends Omit<LocationAccess, 'location'> {
  id: string;
  name: string;
  timezone: string;
}

export interface DroppedLocation {
  locationId: string;
  /** Local edits that had not reached the server and were deleted with the location. */
  discardedEdits: number;
}

export interface ApplyResult {
  applied: number;
  skipped: number;
}

/**
 * What changed in one committed write, for the UI to refresh the right views: the bridge's
 * `DataChanged`, with the location list read-only because one change object goes to every
 * listener.
 */
export type StoreChange = Omit<DataChanged, 'locationIds'> & { locationIds: readonly string[] };

/** Small plaintext facts about the profile, kept inside the encrypted file. */
export type MetaKey = 'userId' | 'serverUrl' | 'deviceId' | 'deviceSecret' | 'lastSyncAt'
  /** Offline lock (profile/offline-lock.ts): when the server last answered, and the latest clock reading seen. */
  | 'lastOnlineAt' | 'latestClockAt';

/**
 * The encrypted local store of one profile: what the server sent for this user's locations,
 * the outbox of pending edits, sync cursors, and refused edits waiting for the user. One
 * writer: every call runs in order on one connection, and every write is one transaction.
 */
export interface LocalStore {
  readonly path: string;

  /** Stores the locations the server lists and drops every other location with its data. */
  replaceLocations(access: readonly LocationAccess[]): Promise<DroppedLocation[]>;
  locations(): Promise<StoredLocation[]>;
  /** Deletes the location and all its rows, then truncates the WAL (secure_delete zeroes them). */
  dropLocation(locationId: string): Promise<DroppedLocation>;

  /**
   * Applies server changes (version-guarded: only newer versions win; `removed` deletes) and,
   * with `cursor`, moves that location's cursor forward, all in one transaction. Malformed
   * changes or changes for locations this store does not hold reject the whole batch.
   */
  applyChanges(changes: readonly Change[], cursor?: { locationId: string; cursor: number }): Promise<ApplyResult>;
  /**
   * A change pushed live. Moves the cursor only when the change directly follows it, so a
   * gap (a change not visible to this user, or one lost in a reconnect) is pulled later.
   */
  applyLiveChange(change: Change): Promise<ApplyResult>;
  cursor(locationId: string): Promise<number>;
  markSynced(locationId: string, at: number): Promise<void>;

  /** Applies the edit locally and queues it for the server, atomically. */
  enqueueLocalEdit(mutation: Mutation): Promise<void>;
  /**
   * Queues edits in order in one transaction (an order import's batch): each checked and applied
   * like a single edit; one the local check refuses is left out and reported, a fault queues none.
   */
  enqueueLocalEdits(mutations: readonly Mutation[]): Promise<BatchOutcome>;
  /** Pending edits, oldest first. */
  pendingMutations(limit?: number): Promise<PendingMutation[]>;
  recordPushAttempt(ids: readonly string[], at: number): Promise<void>;
  markAcknowledged(results: readonly MutationResult[]): Promise<AckOutcome>;
  pendingCount(): Promise<number>;
  rejectedMutations(): Promise<RejectedMutation[]>;
  dismissRejected(id: string): Promise<void>;

  boardQuery(locationId: string, query?: BoardQuery): Promise<BoardRow[]>;
  /** The routes of one day (`YYYY-MM-DD`; every day without it) and their stops' operational facts, for attention and ETAs. */
  boardDay(locationId: string, date?: string): Promise<BoardDay>;
  route(id: string): Promise<Route | null>;
  stop(id: string): Promise<Stop | null>;
  stopsOfRoute(routeId: string): Promise<Stop[]>;
  drivers(locationId: string): Promise<Driver[]>;
  vehicles(locationId: string): Promise<Vehicle[]>;
  positions(locationId: string): Promise<DriverPosition[]>;

  /** The depot's stops on this device carrying one of these order references, by reference. */
  stopsByOrderRef(locationId: string, refs: ReadonlySet<string>): Promise<Map<string, Stop>>;
  /** The column mapping of order imports remembered for the depot. */
  importMapping(locationId: string): Promise<ColumnMapping | null>;
  setImportMapping(locationId: string, mapping: ColumnMapping): Promise<void>;

  getMeta(key: MetaKey): Promise<string | null>;
  setMeta(key: MetaKey, value: string): Promise<void>;

  /** The offline proof copy (only when the managed policy allows it; see migration 0007). */
  proofCache(key: string): Promise<ProofCacheEntry | null>;
  putProofCache(entry: ProofCacheEntry): Promise<void>;
  clearProofCache(): Promise<number>;

  /**
   * Applies each location's retention periods as the server last listed them (retention-sweep.ts):
   * pseudonymises and deletes expired stops, old positions and proof copies, then truncates the
   * WAL. Works offline; the sync client runs it on start, hourly and after each full sync.
   */
  sweepExpired(now?: number): Promise<SweepOutcome>;

  /** Called after each committed write. Returns the unsubscribe function. */
  subscribe(listener: (change: StoreChange) => void): () => void;

  /** Re-encrypts the file with a new key (`PRAGMA rekey`). Use rotateProfileKey, not this. */
  rekey(key: DatabaseKey): Promise<void>;
  close(): Promise<void>;
  readonly closed: boolean;
}
