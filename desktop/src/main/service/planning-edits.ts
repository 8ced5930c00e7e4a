import crypto from 'node:crypto';
import type { BulkResult, Mutation, Permission, Route, Stop } from '@depotline/shared';
import { LocalEditRefusedError, type LocalStore, type StoredLocation, type SyncClient } from '../../core';
import { ConsoleError, toBridgeError } from './console-error';
import { permissionsOf } from './console-views';

/** What the planning calls share: the unlocked session, and queueing an edit as an outbox mutation. */

export interface UnlockedSession {
  store: LocalStore;
  client: SyncClient;
}

export interface PlanningOptions {
  session: () => UnlockedSession;
  now: () => number;
  /** An edit counts as activity for the idle lock. */
  activity: () => void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type MutationBody = DistributiveOmit<Mutation, 'id' | 'locationId' | 'createdAt'>;

const refusedWords: Partial<Record<Permission, string>> = {
  'route.edit': 'Your access at this depot does not allow editing routes.',
  'stop.edit': 'Your access at this depot does not allow editing stops.',
  'stop.editNotes': 'Your access at this depot does not allow editing delivery notes.',
  'stop.readBilling': 'Your access at this depot does not allow billing data.',
  'stop.setStatus': 'Your access at this depot does not allow changing a stop status.',
  'fleet.manage': 'Your access at this depot does not allow managing drivers and vehicles.',
};

/** The depot as last synced, and the user's permissions there; refuses a depot not listed or a permission not held. */
export async function depotOf(session: UnlockedSession, locationId: string, needs?: Permission): Promise<{ location: StoredLocation; permissions: Set<Permission> }> {
  const location = (await session.store.locations()).find((l) => l.id === locationId);
  if (!location) throw new ConsoleError('forbidden', 'That depot is not available to you.');
  const permissions = permissionsOf(location);
  if (needs && !permissions.has(needs)) throw new ConsoleError('forbidden', refusedWords[needs] ?? 'Your access at this depot does not allow that change.');
  return { location, permissions };
}

export async function routeOf(session: UnlockedSession, routeId: string): Promise<Route> {
  const route = await session.store.route(routeId);
  if (!route) throw new ConsoleError('not_found', 'That route is not on this device any more.');
  return route;
}

export async function stopOf(session: UnlockedSession, stopId: string): Promise<Stop> {
  const stop = await session.store.stop(stopId);
  if (!stop) throw new ConsoleError('not_found', 'That stop is not on this device any more.');
  return stop;
}

/**
 * Queues one edit through the core: applied on this device at once, sent when connected. The
 * core's own refusal (a rule it checks before queueing) comes back as the console's error.
 */
export async function queueEdit(o: PlanningOptions, session: UnlockedSession, locationId: string, body: MutationBody): Promise<void> {
  const mutation = { ...body, id: crypto.randomUUID(), locationId, createdAt: o.now() } as Mutation;
  try {
    await session.client.edit(mutation);
  } catch (err) {
    if (!(err instanceof LocalEditRefusedError)) throw err;
    const refusal = toBridgeError(err);
    throw new ConsoleError(refusal.code, refusal.message);
  }
  o.activity();
}

/** Runs one edit per id; an edit refused here is reported with why, and the others still go. */
export async function bulkEdit(ids: readonly string[], each: (id: string) => Promise<void>): Promise<BulkResult> {
  const result: BulkResult = { queued: [], refused: [] };
  for (const id of new Set(ids)) {
    try {
      await each(id);
      result.queued.push(id);
    } catch (err) {
      result.refused.push({ id, message: toBridgeError(err).message.slice(0, 500) });
    }
  }
  return result;
}
