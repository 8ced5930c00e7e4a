import type { Change, MutationOf, MutationTargetKind, MutationType, Permission, Route, Stop } from '@depotline/shared';
import { LocalEditRefusedError } from '../errors';
import type { EntityByKind } from '../store/entity-tables';

/** The record a mutation changes, as this device stores it. */
export type TargetEntity = EntityByKind[MutationTargetKind];

/** Reads another record the local check needs (the route of a new stop). */
export type LocalLookup = <K extends MutationTargetKind>(kind: K, id: string) => Promise<EntityByKind[K] | null>;

/**
 * How the desktop handles one mutation type before the server has answered. Permission and
 * target come from the shared declaration (`mutationRules`).
 */
export interface OptimisticHandler<T extends MutationType> {
  /**
   * What the edit does to the record as this device sees it. Pure: the same function replays
   * pending edits on top of a fresh server state. Versions stay at the server version the edit
   * was based on (0 for a new record), so the server's own change always wins once it arrives.
   */
  apply(m: MutationOf<T>, current: TargetEntity | null): TargetEntity | null;
  /**
   * Refuses an edit that cannot succeed given what this device knows, so the outbox holds only
   * edits worth sending. The server checks again; this is for the user, not for security.
   */
  check(m: MutationOf<T>, current: TargetEntity | null, lookup: LocalLookup): Promise<void>;
  /** What the user tried, in words, for a notice when the server refuses it (e.g. "status: delivered"). */
  describe(m: MutationOf<T>): string;
  /**
   * The server's current value of what the edit was about, when the generic wording (status,
   * route name, version) says too little. `current` is as the server sent it; it is redacted
   * again with the viewer's permissions before anything is shown.
   */
  describeCurrent?(m: MutationOf<T>, current: Change, permissions: ReadonlySet<Permission>): string | null;
}

export type OptimisticHandlers = { readonly [T in MutationType]: OptimisticHandler<T> };

export function requireExisting<T>(entity: T | null, kind: string, id: string): T {
  if (!entity) throw new LocalEditRefusedError('not_found', `${kind} ${id} is not known on this device`);
  return entity;
}

export function asStop(e: TargetEntity | null): Stop | null {
  return e && 'routeId' in e ? e : null;
}

export function asRoute(e: TargetEntity | null): Route | null {
  return e && 'date' in e && 'name' in e ? e : null;
}

export const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Statuses as people write them. */
export const statusText = (status: Stop['status']) => status.replace('_', ' ');
