import { type StopStatus, stopTransitionRefusal } from '@depotline/shared';
import { recordChange } from '../change-log';
import { driverUserOfRoute } from '../driver-queries';
import type { StopRow } from '../presenters';
import { requireSeen } from './fleet';
import {
  fromTo, loadRoute, loadStop, type MutationHandlers, type MutationScope, Rejection, routeChange, stopChange, type Touched,
} from './handler';

/**
 * Planning a day: renaming and moving routes, cancelling a route or a stop, moving stops
 * between routes and reordering a route. A route's stops keep the sequences 0, 1, 2, ... in
 * the order they are driven; every mutation here that changes the order renumbers the routes
 * it touched so that stays true.
 */

/** A route's stops in driving order (ties, which older data may hold, by id). */
async function stopsInOrder(scope: MutationScope, routeId: string): Promise<StopRow[]> {
  return scope.trx.selectFrom('stops').selectAll().where('route_id', '=', routeId).orderBy('sequence').orderBy('id').execute();
}

/**
 * Gives each stop its position in `ordered` as its sequence, writing (with a new version) only
 * the stops whose sequence or route changes.
 */
async function renumber(scope: MutationScope, routeId: string, ordered: readonly StopRow[], touched: Touched[]): Promise<void> {
  for (const [i, s] of ordered.entries()) {
    if (s.sequence === i && s.route_id === routeId) continue;
    const version = await recordChange(scope.trx, s.location_id, 'stop', s.id, scope.now);
    await scope.trx.updateTable('stops').set({ route_id: routeId, sequence: i, version, updated_at: scope.now, updated_by: scope.by }).where('id', '=', s.id).execute();
    touched.push({ entity: 'stop', id: s.id, locationId: s.location_id });
  }
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Statuses a stop may be moved to another route in: not under way, not done. */
const movableStatuses: readonly StopStatus[] = ['planned', 'failed'];

export const planningMutations = {
  'route.update': {
    async apply(scope, m) {
      const route = await loadRoute(scope.trx, m.routeId, m.locationId);
      const current = () => Promise.resolve(routeChange(route));
      await requireSeen('route\u2019s name', route.name, m.changes.name, current);
      await requireSeen('route\u2019s date', route.date, m.changes.date, current);
      const version = await recordChange(scope.trx, m.locationId, 'route', route.id, scope.now);
      await scope.trx.updateTable('routes').set({
        ...(m.changes.name ? { name: m.changes.name.to } : {}),
        ...(m.changes.date ? { date: m.changes.date.to } : {}),
        version, updated_at: scope.now, updated_by: scope.by,
      }).where('id', '=', route.id).execute();
      return { version, touched: [{ entity: 'route', id: route.id, locationId: m.locationId }], before: route };
    },
    auditDetails: (m, before) => ({
      mutationId: m.id, fields: Object.keys(m.changes).sort(),
      ...(m.changes.name ? { name: fromTo(before?.name, m.changes.name.to) } : {}),
      ...(m.changes.date ? { date: fromTo(before?.date, m.changes.date.to) } : {}),
    }),
  },
  'route.cancel': {
    async apply(scope, m) {
      const route = await loadRoute(scope.trx, m.routeId, m.locationId);
      const stops = await stopsInOrder(scope, route.id);
      const started = stops.filter((s) => s.status !== 'planned' && s.status !== 'cancelled');
      if (started.length > 0) {
        throw new Rejection('invalid_transition',
          `${started.length} of the route\u2019s stops ${started.length === 1 ? 'is' : 'are'} under way or done: only a route that has not started can be cancelled.`,
          routeChange(route));
      }
      const previousDriverUserId = route.driver_id === null ? null
        : (await scope.trx.selectFrom('drivers').select('user_id').where('id', '=', route.driver_id).executeTakeFirst())?.user_id ?? null;
      const touched: Touched[] = [];
      // The stops first, while the route still names its driver: their changes reach the
      // driver's device before the route is taken from it.
      for (const s of stops.filter((x) => x.status === 'planned')) {
        const v = await recordChange(scope.trx, m.locationId, 'stop', s.id, scope.now);
        await scope.trx.updateTable('stops').set({ status: 'cancelled' satisfies StopStatus, version: v, updated_at: scope.now, updated_by: scope.by }).where('id', '=', s.id).execute();
        touched.push({ entity: 'stop', id: s.id, locationId: m.locationId });
      }
      const version = await recordChange(scope.trx, m.locationId, 'route', route.id, scope.now);
      await scope.trx.updateTable('routes').set({ driver_id: null, vehicle_id: null, version, updated_at: scope.now, updated_by: scope.by }).where('id', '=', route.id).execute();
      touched.push({ entity: 'route', id: route.id, locationId: m.locationId, previousDriverUserId });
      return { version, touched, before: route };
    },
    auditDetails: (m, before) => ({
      mutationId: m.id, reason: m.reason,
      driverId: fromTo(before?.driver_id, null), vehicleId: fromTo(before?.vehicle_id, null),
    }),
  },
  'route.reorder': {
    async apply(scope, m) {
      const route = await loadRoute(scope.trx, m.routeId, m.locationId);
      const stops = await stopsInOrder(scope, route.id);
      const currentIds = stops.map((s) => s.id);
      if (!sameList(currentIds, m.expected)) {
        throw new Rejection('conflict', `The route\u2019s stops changed since you ordered them: it now has ${stops.length} in another order.`, routeChange(route));
      }
      const byId = new Map(stops.map((s) => [s.id, s]));
      if (m.stopIds.length !== stops.length || new Set(m.stopIds).size !== stops.length || !m.stopIds.every((id) => byId.has(id))) {
        throw new Rejection('bad_request', 'A new order lists each of the route\u2019s stops once.', routeChange(route));
      }
      const touched: Touched[] = [];
      await renumber(scope, route.id, m.stopIds.map((id) => byId.get(id)!), touched);
      const version = await recordChange(scope.trx, m.locationId, 'route', route.id, scope.now);
      await scope.trx.updateTable('routes').set({ version, updated_at: scope.now, updated_by: scope.by }).where('id', '=', route.id).execute();
      touched.push({ entity: 'route', id: route.id, locationId: m.locationId });
      return { version, touched, before: route };
    },
    auditDetails: (m) => ({ mutationId: m.id, order: fromTo(m.expected, m.stopIds) }),
  },
  'stop.cancel': {
    async apply(scope, m) {
      const stop = await loadStop(scope.trx, m.stopId, m.locationId);
      const refusal = stopTransitionRefusal(stop.status as StopStatus, 'cancelled');
      if (refusal) throw new Rejection('invalid_transition', refusal, stopChange(scope.ctx, stop));
      const version = await recordChange(scope.trx, m.locationId, 'stop', stop.id, scope.now);
      await scope.trx.updateTable('stops').set({ status: 'cancelled' satisfies StopStatus, version, updated_at: scope.now, updated_by: scope.by }).where('id', '=', stop.id).execute();
      return { version, touched: [{ entity: 'stop', id: stop.id, locationId: m.locationId }], before: stop };
    },
    auditDetails: (m, before) => ({ mutationId: m.id, status: fromTo(before?.status, 'cancelled'), reason: m.reason }),
  },
  'stop.move': {
    async apply(scope, m) {
      const stop = await loadStop(scope.trx, m.stopId, m.locationId);
      const current = stopChange(scope.ctx, stop);
      if (stop.route_id !== m.fromRouteId) throw new Rejection('conflict', 'The stop was moved to another route meanwhile.', current);
      if (!movableStatuses.includes(stop.status as StopStatus)) {
        throw new Rejection('invalid_transition', `A ${stop.status.replace('_', ' ')} stop cannot be moved.`, current);
      }
      const target = await scope.trx.selectFrom('routes').select('id').where('id', '=', m.toRouteId).where('location_id', '=', m.locationId).executeTakeFirst();
      if (!target) throw new Rejection('not_found', 'That route does not exist at this location.', current);

      const touched: Touched[] = [];
      const others = (await stopsInOrder(scope, m.toRouteId)).filter((s) => s.id !== stop.id);
      const at = Math.min(m.sequence, others.length);
      const moved: StopRow = { ...stop, sequence: -1 }; // always written: it is the mutation's target
      await renumber(scope, m.toRouteId, [...others.slice(0, at), moved, ...others.slice(at)], touched);
      if (m.toRouteId !== stop.route_id) {
        await renumber(scope, stop.route_id, (await stopsInOrder(scope, stop.route_id)), touched);
        // The driver of the route it left must be told the stop is no longer theirs.
        const previousDriverUserId = await driverUserOfRoute(scope.trx, stop.route_id);
        const moved = touched.find((t) => t.entity === 'stop' && t.id === stop.id);
        if (moved) moved.previousDriverUserId = previousDriverUserId;
      }
      const row = await loadStop(scope.trx, stop.id, m.locationId);
      return { version: row.version, touched, before: stop };
    },
    auditDetails: (m, before) => ({
      mutationId: m.id, routeId: fromTo(before?.route_id, m.toRouteId), sequence: fromTo(before?.sequence, m.sequence),
    }),
  },
} satisfies Pick<MutationHandlers, 'route.update' | 'route.cancel' | 'route.reorder' | 'stop.cancel' | 'stop.move'>;
