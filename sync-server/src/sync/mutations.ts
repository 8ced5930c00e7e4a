import {
  type Change, type ErrorCode, type Mutation, type MutationResult, canTransitionStop, mutationPermission,
  type StopStatus,
} from '@depotline/shared';
import type { Transaction } from 'kysely';
import type { AccessProfile } from '../access/access-profile';
import { checkPermission } from '../access/authorize';
import { appendAuditEntries, type AuditActor, type AuditEvent } from '../audit/audit-log';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import type { Database } from '../db/schema';
import { recordChange, type ChangeEntity } from './change-log';
import { driverIdsOfUser, encryptStopPii, presentRoute, presentStop, type RouteRow, type StopRow } from './entities';
import { loadViewerScope, redactChangeForScope } from './visibility';

type Trx = Transaction<Database>;

/** An entity the mutation changed, to broadcast once the transaction has committed. */
export interface Touched {
  entity: ChangeEntity;
  id: string;
  locationId: string;
  /** For route reassignment: the driver user who must be told the route is gone. */
  previousDriverUserId?: string | null;
}

export interface MutationOutcome {
  result: MutationResult;
  touched: Touched[];
}

/** A refusal with the server's current value, answered to the caller and audited. */
class Rejection extends Error {
  constructor(readonly code: ErrorCode, readonly reason: string, readonly current: Change | null) {
    super(reason);
  }
}

/** What one push needs once, not per mutation. */
interface PushScope {
  principal: Principal;
  actor: AuditActor;
  profile: AccessProfile;
  now: number;
  /** The caller's driver records per location. */
  ownDrivers: Map<string, ReadonlySet<string>>;
  /** Audit entries of the push, appended together before it commits. */
  audits: { actor: AuditActor; event: AuditEvent }[];
}

/**
 * Applies one pushed mutation inside the push's transaction (DESIGN.md section 4).
 *
 * The id is claimed first (`insert ... on conflict do nothing`): a replay, or a concurrent push
 * of the same id (PostgreSQL waits for the other transaction, then reports the conflict), is
 * answered `duplicate` and nothing runs. Then authorization and the business rules (the stop
 * state machine); every refusal is decided before anything is written, so undoing it is only
 * releasing the claim. Then the write and its change-log entry. The audit entry is queued on
 * the scope and written in the same transaction.
 */
async function applyMutation(ctx: ServerContext, trx: Trx, scope: PushScope, mutation: Mutation): Promise<MutationOutcome> {
  const { principal, actor, profile, now } = scope;
  const claimed = await trx.insertInto('applied_mutations')
    .values({ id: mutation.id, user_id: principal.userId, location_id: mutation.locationId, version: 0, applied_at: now })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!claimed) {
    const seen = await trx.selectFrom('applied_mutations').select(['user_id', 'version']).where('id', '=', mutation.id).executeTakeFirstOrThrow();
    return duplicateOrClash(principal, mutation, seen);
  }
  const release = () => trx.deleteFrom('applied_mutations').where('id', '=', mutation.id).execute();

  let ownDrivers = scope.ownDrivers.get(mutation.locationId);
  if (!ownDrivers) {
    ownDrivers = await driverIdsOfUser(trx, principal.userId, mutation.locationId);
    scope.ownDrivers.set(mutation.locationId, ownDrivers);
  }
  const permission = mutationPermission[mutation.type];
  // Driver-only permissions count when the target is the caller's own route or own position.
  const assignedToCaller = await targetIsAssignedToCaller(trx, mutation, ownDrivers);
  // A position belongs to one driver: nobody, admins included, reports it for them (API1).
  const ownsTarget = mutation.type !== 'position.report' || ownDrivers.has(mutation.driverId);
  if (!ownsTarget || !checkPermission(profile, { permission, locationId: mutation.locationId, assignedToCaller }, now)) {
    await release();
    scope.audits.push({ actor, event: {
      action: mutation.type, outcome: 'denied', targetType: targetTypeOf(mutation), targetId: targetIdOf(mutation),
      locationId: mutation.locationId, details: { permission },
    } });
    return {
      result: { id: mutation.id, status: 'rejected', code: 'forbidden', reason: 'You do not have access to this.', current: null },
      touched: [],
    };
  }

  try {
    const { touched, version } = await applyInTransaction(ctx, trx, principal, mutation, now);
    await trx.updateTable('applied_mutations').set({ version }).where('id', '=', mutation.id).execute();
    scope.audits.push({ actor, event: {
      action: mutation.type, outcome: 'ok', targetType: targetTypeOf(mutation), targetId: targetIdOf(mutation),
      locationId: mutation.locationId, details: auditDetailsOf(mutation),
    } });
    return { result: { id: mutation.id, status: 'applied', version }, touched };
  } catch (err) {
    // Anything else (a database fault) fails the whole push: its transaction rolls back and
    // the device retries it later; replays are harmless.
    if (!(err instanceof Rejection)) throw err;
    await release();
    scope.audits.push({ actor, event: {
      action: 'mutation.rejected', outcome: 'failed', targetType: targetTypeOf(mutation), targetId: targetIdOf(mutation),
      locationId: mutation.locationId, details: { type: mutation.type, errorCode: err.code, mutationId: mutation.id },
    } });
    const current = err.current ? redactChangeForScope(err.current, await loadViewerScope(trx, profile, mutation.locationId, now)) : null;
    return { result: { id: mutation.id, status: 'rejected', code: err.code, reason: err.reason, current }, touched: [] };
  }
}

function duplicateOrClash(principal: Principal, mutation: Mutation, seen: { user_id: string; version: number }): MutationOutcome {
  if (seen.user_id === principal.userId) {
    return { result: { id: mutation.id, status: 'duplicate', version: seen.version }, touched: [] };
  }
  // Another user's id: say nothing about it.
  return { result: { id: mutation.id, status: 'rejected', code: 'conflict', reason: 'This mutation id is already in use.', current: null }, touched: [] };
}

async function targetIsAssignedToCaller(db: Trx, m: Mutation, ownDrivers: ReadonlySet<string>): Promise<boolean> {
  if (ownDrivers.size === 0) return false;
  switch (m.type) {
    case 'position.report':
      return ownDrivers.has(m.driverId);
    case 'stop.setStatus':
    case 'stop.editNotes':
    case 'stop.update': {
      const row = await db
        .selectFrom('stops').innerJoin('routes', 'routes.id', 'stops.route_id')
        .select('routes.driver_id')
        .where('stops.id', '=', m.stopId).where('stops.location_id', '=', m.locationId)
        .executeTakeFirst();
      return row?.driver_id != null && ownDrivers.has(row.driver_id);
    }
    case 'stop.create':
    case 'route.create':
    case 'route.assign':
      return false;
  }
}

/** Every Rejection here is thrown before the mutation's first write: applyMutation relies on it. */
async function applyInTransaction(ctx: ServerContext, trx: Trx, principal: Principal, m: Mutation, now: number): Promise<{ touched: Touched[]; version: number }> {
  const by = principal.username;
  switch (m.type) {
    case 'stop.setStatus': {
      const stop = await loadStop(trx, m.stopId, m.locationId);
      const from = stop.status as StopStatus;
      if (!canTransitionStop(from, m.to)) {
        throw new Rejection('invalid_transition', `A stop that is ${from} cannot become ${m.to}.`, stopChange(ctx, stop));
      }
      const version = await recordChange(trx, m.locationId, 'stop', stop.id, now);
      await trx.updateTable('stops').set({ status: m.to, version, updated_at: now, updated_by: by }).where('id', '=', stop.id).execute();
      return { touched: [{ entity: 'stop', id: stop.id, locationId: m.locationId }], version };
    }
    case 'stop.editNotes': {
      const stop = await loadStop(trx, m.stopId, m.locationId);
      const version = await recordChange(trx, m.locationId, 'stop', stop.id, now);
      await trx.updateTable('stops').set({ ...encryptStopPii(ctx, stop.id, { notes: m.notes }), version, updated_at: now, updated_by: by }).where('id', '=', stop.id).execute();
      return { touched: [{ entity: 'stop', id: stop.id, locationId: m.locationId }], version };
    }
    case 'stop.update': {
      const stop = await loadStop(trx, m.stopId, m.locationId);
      const c = m.changes;
      const version = await recordChange(trx, m.locationId, 'stop', stop.id, now);
      await trx.updateTable('stops').set({
        ...encryptStopPii(ctx, stop.id, { customerName: c.customerName, address: c.address, phone: c.phone }),
        ...(c.sequence !== undefined ? { sequence: c.sequence } : {}),
        ...(c.window !== undefined ? { window_start: c.window.start, window_end: c.window.end } : {}),
        ...(c.eta !== undefined ? { eta: c.eta } : {}),
        version, updated_at: now, updated_by: by,
      }).where('id', '=', stop.id).execute();
      return { touched: [{ entity: 'stop', id: stop.id, locationId: m.locationId }], version };
    }
    case 'stop.create': {
      const clash = await trx.selectFrom('stops').select(['id', 'location_id']).where('id', '=', m.stopId).executeTakeFirst();
      if (clash) throw new Rejection('conflict', 'A stop with this id already exists.', clash.location_id === m.locationId ? stopChange(ctx, await loadStop(trx, m.stopId, m.locationId)) : null);
      await loadRoute(trx, m.routeId, m.locationId);
      const version = await recordChange(trx, m.locationId, 'stop', m.stopId, now);
      await trx.insertInto('stops').values({
        id: m.stopId, location_id: m.locationId, route_id: m.routeId, sequence: m.sequence,
        ...(encryptStopPii(ctx, m.stopId, { customerName: m.customerName, address: m.address, phone: m.phone, notes: m.notes }) as Required<ReturnType<typeof encryptStopPii>>),
        window_start: m.window.start, window_end: m.window.end, status: 'planned', eta: null,
        version, updated_at: now, updated_by: by,
      }).execute();
      return { touched: [{ entity: 'stop', id: m.stopId, locationId: m.locationId }], version };
    }
    case 'route.create': {
      const clash = await trx.selectFrom('routes').selectAll().where('id', '=', m.routeId).executeTakeFirst();
      if (clash) throw new Rejection('conflict', 'A route with this id already exists.', clash.location_id === m.locationId ? routeChange(clash) : null);
      const version = await recordChange(trx, m.locationId, 'route', m.routeId, now);
      await trx.insertInto('routes').values({ id: m.routeId, location_id: m.locationId, name: m.name, date: m.date, driver_id: null, vehicle_id: null, version, updated_at: now, updated_by: by }).execute();
      return { touched: [{ entity: 'route', id: m.routeId, locationId: m.locationId }], version };
    }
    case 'route.assign': {
      const route = await loadRoute(trx, m.routeId, m.locationId);
      if (m.driverId !== null && !(await trx.selectFrom('drivers').select('id').where('id', '=', m.driverId).where('location_id', '=', m.locationId).executeTakeFirst())) {
        throw new Rejection('not_found', 'That driver does not work at this location.', routeChange(route));
      }
      if (m.vehicleId !== null && !(await trx.selectFrom('vehicles').select('id').where('id', '=', m.vehicleId).where('location_id', '=', m.locationId).executeTakeFirst())) {
        throw new Rejection('not_found', 'That vehicle is not at this location.', routeChange(route));
      }
      const previousDriverUserId = route.driver_id === null ? null
        : (await trx.selectFrom('drivers').select('user_id').where('id', '=', route.driver_id).executeTakeFirst())?.user_id ?? null;
      const version = await recordChange(trx, m.locationId, 'route', route.id, now);
      await trx.updateTable('routes').set({ driver_id: m.driverId, vehicle_id: m.vehicleId, version, updated_at: now, updated_by: by }).where('id', '=', route.id).execute();
      const touched: Touched[] = [{ entity: 'route', id: route.id, locationId: m.locationId, previousDriverUserId }];
      if (m.driverId !== route.driver_id) {
        // The route's stops become visible to the new driver: give them fresh versions so
        // a driver's pull or live feed carries them (their earlier changes are below its cursor).
        const stops = await trx.selectFrom('stops').select('id').where('route_id', '=', route.id).orderBy('sequence').execute();
        for (const s of stops) {
          const v = await recordChange(trx, m.locationId, 'stop', s.id, now);
          await trx.updateTable('stops').set({ version: v }).where('id', '=', s.id).execute();
          touched.push({ entity: 'stop', id: s.id, locationId: m.locationId });
        }
      }
      return { touched, version };
    }
    case 'position.report': {
      const version = await recordChange(trx, m.locationId, 'position', m.driverId, now);
      const row = { location_id: m.locationId, lat: m.lat, lng: m.lng, heading_deg: m.headingDeg, speed_kmh: m.speedKmh, recorded_at: m.createdAt, version };
      await trx.insertInto('positions').values({ driver_id: m.driverId, ...row }).onConflict((oc) => oc.column('driver_id').doUpdateSet(row)).execute();
      return { touched: [{ entity: 'position', id: m.driverId, locationId: m.locationId }], version };
    }
  }
}

async function loadStop(trx: Trx, stopId: string, locationId: string): Promise<StopRow> {
  // Scoped to the mutation's location: a stop of another location is simply not found here.
  const row = await trx.selectFrom('stops').selectAll().where('id', '=', stopId).where('location_id', '=', locationId).executeTakeFirst();
  if (!row) throw new Rejection('not_found', 'That stop does not exist at this location.', null);
  return row;
}

async function loadRoute(trx: Trx, routeId: string, locationId: string): Promise<RouteRow> {
  const row = await trx.selectFrom('routes').selectAll().where('id', '=', routeId).where('location_id', '=', locationId).executeTakeFirst();
  if (!row) throw new Rejection('not_found', 'That route does not exist at this location.', null);
  return row;
}

const stopChange = (ctx: ServerContext, row: StopRow): Change => ({ entity: 'stop', locationId: row.location_id, version: row.version, data: presentStop(ctx, row) });
const routeChange = (row: RouteRow): Change => ({ entity: 'route', locationId: row.location_id, version: row.version, data: presentRoute(row) });

function targetTypeOf(m: Mutation): string {
  return m.type.split('.')[0]!;
}

function targetIdOf(m: Mutation): string {
  switch (m.type) {
    case 'stop.setStatus': case 'stop.editNotes': case 'stop.update': case 'stop.create': return m.stopId;
    case 'route.create': case 'route.assign': return m.routeId;
    case 'position.report': return m.driverId;
  }
}

/** What changed, without customer PII (redactForAudit removes PII keys; we list field names). */
function auditDetailsOf(m: Mutation): Record<string, unknown> {
  switch (m.type) {
    case 'stop.setStatus': return { mutationId: m.id, to: m.to, reason: m.reason };
    case 'stop.editNotes': return { mutationId: m.id, fields: ['notes'] };
    case 'stop.update': return { mutationId: m.id, fields: Object.keys(m.changes).sort(), sequence: m.changes.sequence, window: m.changes.window, eta: m.changes.eta };
    case 'stop.create': return { mutationId: m.id, routeId: m.routeId, sequence: m.sequence, window: m.window };
    case 'route.create': return { mutationId: m.id, name: m.name, date: m.date };
    case 'route.assign': return { mutationId: m.id, driverId: m.driverId, vehicleId: m.vehicleId };
    case 'position.report': return { mutationId: m.id };
  }
}


/**
 * A whole push, in order, answered per id, in one transaction: each mutation in its own
 * savepoint, all audit entries appended together before the commit. Committed changes go to
 * the live feed afterwards. Shared by the socket event and the REST endpoint.
 */
export async function pushMutations(
  ctx: ServerContext,
  principal: Principal,
  actor: AuditActor,
  profile: AccessProfile,
  mutations: readonly Mutation[],
): Promise<{ results: MutationResult[] }> {
  const scope: PushScope = { principal, actor, profile, now: ctx.now(), ownDrivers: new Map(), audits: [] };
  const results: MutationResult[] = [];
  const touched: Touched[] = [];
  await ctx.db.transaction().execute(async (trx) => {
    for (const m of mutations) {
      const outcome = await applyMutation(ctx, trx, scope, m);
      results.push(outcome.result);
      touched.push(...outcome.touched);
    }
    await appendAuditEntries(trx, scope.audits, scope.now);
  });
  await ctx.live.publish(touched);
  return { results };
}
