import type { Change, ErrorCode, MutationOf, MutationType } from '@depotline/shared';
import type { Transaction } from 'kysely';
import type { ServerContext } from '../../context';
import type { Db } from '../../db/database';
import type { Database } from '../../db/schema';
import type { ChangeEntity } from '../change-log';
import { type DriverRow, presentRoute, presentStop, type RouteRow, type StopRow, type VehicleRow } from '../presenters';

export type Trx = Transaction<Database>;

/** An entity a mutation changed, to broadcast once the transaction has committed. */
export interface Touched {
  entity: ChangeEntity;
  id: string;
  locationId: string;
  /** For a route reassigned or a stop moved to another route: the driver user who must be told it is gone. */
  previousDriverUserId?: string | null;
  /** Made by this transaction: every stored value in it was just written here, none left from before. */
  created?: boolean;
  /** The row is gone (retention/stop-erasure.ts): sockets are told to remove it, at this version; a stop names its route's driver room. */
  removed?: { version: number; routeId: string | null };
}

/** Sends committed changes to the sockets allowed to see them. */
export interface LiveFeed {
  publish(touched: readonly Touched[]): Promise<void>;
}

/** What a mutation handler works with: the push's transaction and who is pushing. */
export interface MutationScope {
  ctx: ServerContext;
  trx: Trx;
  /** The caller's username, stored as `updated_by`. */
  by: string;
  now: number;
  /** The caller's driver records at the mutation's location (empty for non-drivers). */
  ownDrivers: ReadonlySet<string>;
  /**
   * Stops the push read once, under its locations' locks, as they are now (sync/push-stops.ts):
   * `loadStopIn` answers from here. Omitted: every read goes to the database.
   */
  stops?: ReadonlyMap<string, StopRow>;
}

/**
 * The row a mutation's target was just before the change, for the audit entry's from/to values.
 * Stop and route mutations load it anyway to check their rules; positions keep no history in
 * the log (a driver's trail of places is personal data).
 */
export type BeforeOf<T extends MutationType> = T extends `stop.${string}` ? StopRow : T extends `route.${string}` ? RouteRow
  : T extends `driver.${string}` ? DriverRow : T extends `vehicle.${string}` ? VehicleRow : never;

export interface Applied<T extends MutationType = MutationType> {
  /** The version the target has after the mutation (its unchanged version for a read). */
  version: number;
  touched: Touched[];
  /** The target before the change; omitted for a new record. */
  before?: BeforeOf<T>;
  /**
   * True when the mutation cannot have completed or reopened a route: no stop was created,
   * removed or moved to another route, and none went between open and closed. The push then
   * skips the route-completion check (sync/route-completion.ts), which reads the route's stops.
   * Omitted: the check runs.
   */
  completionUnchanged?: boolean;
}

/**
 * How the server handles one mutation type. Permission and target come from the shared
 * declaration (`mutationRules`); the handler adds what only the server can know.
 */
export interface MutationHandler<T extends MutationType> {
  /**
   * Whether the target is on a route assigned to the caller as a driver: then driver-only
   * permissions count too. Omitted: never (dispatcher-only mutations).
   */
  assignedToCaller?(scope: MutationScope, m: MutationOf<T>): Promise<boolean>;
  /**
   * An ownership rule beyond permissions (API1: a position belongs to one driver, and nobody,
   * admins included, reports it for them). Omitted: no such rule.
   */
  ownedByCaller?(scope: MutationScope, m: MutationOf<T>): boolean;
  /**
   * Checks the business rules and writes. Every `Rejection` must be thrown before the first
   * write: the push loop undoes a refusal by releasing the mutation id only.
   */
  apply(scope: MutationScope, m: MutationOf<T>): Promise<Applied<T>>;
  /**
   * What changed, for the audit entry: field names, and the old and new operational values
   * (`{ from, to }`) so a dispute can be read from the log alone; never customer PII.
   */
  auditDetails(m: MutationOf<T>, before: BeforeOf<T> | undefined): Record<string, unknown>;
}

/** An operational value before and after, as an audit entry records it (`from: null`: none, or unknown). */
export const fromTo = <V>(from: V | undefined, to: V) => ({ from: from ?? null, to });

/** A handler per mutation type; the mapped type makes a declared but unhandled type a compile error. */
export type MutationHandlers = { readonly [T in MutationType]: MutationHandler<T> };

/** A refusal with the server's current value, answered to the caller and audited. */
export class Rejection extends Error {
  constructor(readonly code: ErrorCode, readonly reason: string, readonly current: Change | null) {
    super(reason);
  }
}

/** Loads a stop of the mutation's location; a stop of another location is simply not found. */
export async function loadStop(trx: Db, stopId: string, locationId: string): Promise<StopRow> {
  const row = await trx.selectFrom('stops').selectAll().where('id', '=', stopId).where('location_id', '=', locationId).executeTakeFirst();
  if (!row) throw new Rejection('not_found', 'That stop does not exist at this location.', null);
  return row;
}

/** `loadStop` through the push's read of its stops (`MutationScope.stops`), when it holds the stop. */
export async function loadStopIn(scope: MutationScope, stopId: string, locationId: string): Promise<StopRow> {
  const row = scope.stops?.get(stopId);
  return row !== undefined && row.location_id === locationId ? row : loadStop(scope.trx, stopId, locationId);
}

export async function loadRoute(trx: Db, routeId: string, locationId: string): Promise<RouteRow> {
  const row = await trx.selectFrom('routes').selectAll().where('id', '=', routeId).where('location_id', '=', locationId).executeTakeFirst();
  if (!row) throw new Rejection('not_found', 'That route does not exist at this location.', null);
  return row;
}

export const stopChange = (ctx: ServerContext, row: StopRow): Change => ({ entity: 'stop', locationId: row.location_id, version: row.version, data: presentStop(ctx, row) });
export const routeChange = (row: RouteRow): Change => ({ entity: 'route', locationId: row.location_id, version: row.version, data: presentRoute(row) });
