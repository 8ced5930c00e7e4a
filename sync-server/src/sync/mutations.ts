import {
  type Change, type ErrorCode, type Mutation, type MutationResult, canTransitionStop, mutationPermission,
  type StopStatus,
} from '@depotline/shared';
import type { Transaction } from 'kysely';
import type { AccessProfile } from '../access/access-profile';
import { auditDenied, checkPermission } from '../access/authorize';
import { appendAudit, type AuditActor } from '../audit/audit-log';
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

/**
 * Applies one pushed mutation (DESIGN.md section 4): duplicate check, authorization,
 * business rules (the stop state machine), the write, the change-log entry and the audit
 * entry, all in one transaction. Each mutation gets its own transaction so one refusal never
 * undoes the others in a push; answers keep the order of the push.
 */
export async function applyMutation(
  ctx: ServerContext,
  principal: Principal,
  actor: AuditActor,
  profile: AccessProfile,
  mutation: Mutation,
): Promise<MutationOutcome> {
  const now = ctx.now();
  const seen = await ctx.db.selectFrom('applied_mutations').select(['user_id', 'version']).where('id', '=', mutation.id).executeTakeFirst();
  if (seen) return duplicateOrClash(principal, mutation, seen);

  const ownDrivers = await driverIdsOfUser(ctx.db, principal.userId, mutation.locationId);
  const permission = mutationPermission[mutation.type];
  // Driver-only permissions count when the target is the caller's own route or own position.
  const assignedToCaller = await targetIsAssignedToCaller(ctx, mutation, ownDrivers);
  // A position belongs to one driver: nobody, admins included, reports it for them (API1).
  const ownsTarget = mutation.type !== 'position.report' || ownDrivers.has(mutation.driverId);
  if (!ownsTarget || !checkPermission(profile, { permission, locationId: mutation.locationId, assignedToCaller }, now)) {
    await auditDenied(ctx, actor, { permission, locationId: mutation.locationId, action: mutation.type, targetType: targetTypeOf(mutation), targetId: targetIdOf(mutation) });
    return {
      result: { id: mutation.id, status: 'rejected', code: 'forbidden', reason: 'You do not have access to this.', current: null },
      touched: [],
    };
  }

  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const touched = await applyInTransaction(ctx, trx, principal, mutation, now);
      const version = await versionOf(trx, touched[0]!);
      await trx.insertInto('applied_mutations').values({ id: mutation.id, user_id: principal.userId, location_id: mutation.locationId, version, applied_at: now }).execute();
      await appendAudit(trx, actor, {
        action: mutation.type,
        outcome: 'ok',
        targetType: targetTypeOf(mutation),
        targetId: targetIdOf(mutation),
        locationId: mutation.locationId,
        details: auditDetailsOf(mutation),
      }, now);
      return { result: { id: mutation.id, status: 'applied' as const, version }, touched };
    });
  } catch (err) {
    if (err instanceof Rejection) {
      await ctx.db.transaction().execute((trx) =>
        appendAudit(trx, actor, {
          action: 'mutation.rejected',
          outcome: 'failed',
          targetType: targetTypeOf(mutation),
          targetId: targetIdOf(mutation),
          locationId: mutation.locationId,
          details: { type: mutation.type, errorCode: err.code, mutationId: mutation.id },
        }, now),
      );
      const current = err.current ? redactChangeForScope(err.current, await loadViewerScope(ctx.db, profile, mutation.locationId, now)) : null;
      return { result: { id: mutation.id, status: 'rejected', code: err.code, reason: err.reason, current }, touched: [] };
    }
    if (isUniqueViolation(err)) {
      // A concurrent push of the same id won the race: answer as its replay.
      const again = await ctx.db.selectFrom('applied_mutations').select(['user_id', 'version']).where('id', '=', mutation.id).executeTakeFirst();
      if (again) return duplicateOrClash(principal, mutation, again);
    }
    throw err;
  }
}

function duplicateOrClash(principal: Principal, mutation: Mutation, seen: { user_id: string; version: number }): MutationOutcome {
  if (seen.user_id === principal.userId) {
    return { result: { id: mutation.id, status: 'duplicate', version: seen.version }, touched: [] };
  }
  // Another user's id: say nothing about it.
  return { result: { id: mutation.id, status: 'rejected', code: 'conflict', reason: 'This mutation id is already in use.', current: null }, touched: [] };
}

async function targetIsAssignedToCaller(ctx: ServerContext, m: Mutation, ownDrivers: ReadonlySet<string>): Promise<boolean> {
  if (ownDrivers.size === 0) return false;
  switch (m.type) {
    case 'position.report':
      return ownDrivers.has(m.driverId);
    case 'stop.setStatus':
    case 'stop.editNotes':
    case 'stop.update': {
      const row = await ctx.db
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

async function applyInTransaction(ctx: ServerContext, trx: Trx, principal: Principal, m: Mutation, now: number): Promise<Touched[]> {
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
      return [{ entity: 'stop', id: stop.id, locationId: m.locationId }];
    }
    case 'stop.editNotes': {
      const stop = await loadStop(trx, m.stopId, m.locationId);
      const version = await recordChange(trx, m.locationId, 'stop', stop.id, now);
      await trx.updateTable('stops').set({ ...encryptStopPii(ctx, stop.id, { notes: m.notes }), version, updated_at: now, updated_by: by }).where('id', '=', stop.id).execute();
      return [{ entity: 'stop', id: stop.id, locationId: m.locationId }];
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
      return [{ entity: 'stop', id: stop.id, locationId: m.locationId }];
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
      return [{ entity: 'stop', id: m.stopId, locationId: m.locationId }];
    }
    case 'route.create': {
      const clash = await trx.selectFrom('routes').selectAll().where('id', '=', m.routeId).executeTakeFirst();
      if (clash) throw new Rejection('conflict', 'A route with this id already exists.', clash.location_id === m.locationId ? routeChange(clash) : null);
      const version = await recordChange(trx, m.locationId, 'route', m.routeId, now);
      await trx.insertInto('routes').values({ id: m.routeId, location_id: m.locationId, name: m.name, date: m.date, driver_id: null, vehicle_id: null, version, updated_at: now, updated_by: by }).execute();
      return [{ entity: 'route', id: m.routeId, locationId: m.locationId }];
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
      return touched;
    }
    case 'position.report': {
      const version = await recordChange(trx, m.locationId, 'position', m.driverId, now);
      const row = { location_id: m.locationId, lat: m.lat, lng: m.lng, heading_deg: m.headingDeg, speed_kmh: m.speedKmh, recorded_at: m.createdAt, version };
      await trx.insertInto('positions').values({ driver_id: m.driverId, ...row }).onConflict((oc) => oc.column('driver_id').doUpdateSet(row)).execute();
      return [{ entity: 'position', id: m.driverId, locationId: m.locationId }];
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

async function versionOf(trx: Trx, t: Touched): Promise<number> {
  const table = t.entity === 'position' ? 'positions' : t.entity === 'stop' ? 'stops' : 'routes';
  if (table === 'positions') {
    return (await trx.selectFrom('positions').select('version').where('driver_id', '=', t.id).executeTakeFirstOrThrow()).version;
  }
  return (await trx.selectFrom(table).select('version').where('id', '=', t.id).executeTakeFirstOrThrow()).version;
}

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

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * A whole push, in order, answered per id; committed changes go to the live feed once all are
 * answered. Shared by the socket event and the REST endpoint.
 */
export async function pushMutations(
  ctx: ServerContext,
  principal: Principal,
  actor: AuditActor,
  profile: AccessProfile,
  mutations: readonly Mutation[],
): Promise<{ results: MutationResult[] }> {
  const results: MutationResult[] = [];
  const touched: Touched[] = [];
  for (const m of mutations) {
    const outcome = await applyMutation(ctx, principal, actor, profile, m);
    results.push(outcome.result);
    touched.push(...outcome.touched);
  }
  await ctx.live.publish(touched);
  return { results };
}
