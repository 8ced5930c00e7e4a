import { type Route, type Stop, stopTransitionRefusal } from '@depotline/shared';
import { LocalEditRefusedError } from '../errors';
import { asRoute, asStop, clip, type OptimisticHandlers, requireExisting } from './handler';

/**
 * Planning edits on this device: a route renamed, moved to another day or cancelled, its
 * stops reordered, a stop cancelled or moved. The same rules as the server's, checked on what
 * this device knows; the server decides.
 *
 * Each edit changes its target record here at once (a moved stop shows on its new route).
 * Renumbering the other stops of the routes involved is the server's: their new sequences
 * arrive with its changes.
 */

/** Refuses an edit whose `from` is neither what this device shows nor already what the user chose. */
function requireSeen<V>(field: string, current: V, edit: { from: V; to: V } | undefined): void {
  if (edit === undefined || current === edit.from || current === edit.to) return;
  throw new LocalEditRefusedError('bad_request', `the ${field} is no longer what the edit was based on`);
}

export const planningEdits = {
  'route.update': {
    apply(m, current) {
      const route = asRoute(current);
      if (!route) return null;
      const next: Route = { ...route, updatedAt: m.createdAt };
      if (m.changes.name) next.name = m.changes.name.to;
      if (m.changes.date) next.date = m.changes.date.to;
      return next;
    },
    check(m, current) {
      const route = requireExisting(asRoute(current), 'route', m.routeId);
      requireSeen('route name', route.name, m.changes.name);
      requireSeen('route date', route.date, m.changes.date);
      return Promise.resolve();
    },
    describe: (m) => [
      m.changes.name ? `route name: “${clip(m.changes.name.to, 200)}”` : null,
      m.changes.date ? `route date: ${m.changes.date.to}` : null,
    ].filter((x) => x !== null).join(', '),
    describeCurrent(m, current) {
      if (current.entity !== 'route') return null;
      return [
        m.changes.name ? `route name: “${clip(current.data.name, 200)}”` : null,
        m.changes.date ? `route date: ${current.data.date}` : null,
      ].filter((x) => x !== null).join(', ');
    },
  },
  'route.cancel': {
    // The route lets its driver and vehicle go; its planned stops are cancelled by the server
    // and arrive with its changes.
    apply(m, current) {
      const route = asRoute(current);
      return route ? { ...route, driverId: null, vehicleId: null, updatedAt: m.createdAt } : null;
    },
    check(m, current) {
      requireExisting(asRoute(current), 'route', m.routeId);
      return Promise.resolve();
    },
    describe: () => 'cancelling the route',
  },
  'route.reorder': {
    apply: (m, current) => {
      const route = asRoute(current);
      return route ? { ...route, updatedAt: m.createdAt } : null;
    },
    check(m, current) {
      requireExisting(asRoute(current), 'route', m.routeId);
      const same = m.stopIds.length === m.expected.length && new Set(m.stopIds).size === m.stopIds.length
        && m.stopIds.every((id) => m.expected.includes(id));
      if (!same) throw new LocalEditRefusedError('bad_request', 'a new order lists each of the route’s stops once');
      return Promise.resolve();
    },
    describe: (m) => `a new order of ${m.stopIds.length} stops`,
    describeCurrent: (_m, current) => (current.entity === 'route' ? `the stops of “${clip(current.data.name, 200)}” as they are now` : null),
  },
  'stop.cancel': {
    apply(m, current) {
      const stop = asStop(current);
      return stop ? { ...stop, status: 'cancelled', updatedAt: m.createdAt } : null;
    },
    check(m, current) {
      const stop = requireExisting(asStop(current), 'stop', m.stopId);
      const refusal = stopTransitionRefusal(stop.status, 'cancelled');
      if (refusal) throw new LocalEditRefusedError('invalid_transition', refusal);
      return Promise.resolve();
    },
    describe: () => 'cancelling the stop',
  },
  'stop.move': {
    apply(m, current) {
      const stop = asStop(current);
      if (!stop) return null;
      const moved: Stop = { ...stop, routeId: m.toRouteId, sequence: m.sequence, updatedAt: m.createdAt };
      return moved;
    },
    async check(m, current, lookup) {
      const stop = requireExisting(asStop(current), 'stop', m.stopId);
      if (stop.routeId !== m.fromRouteId) throw new LocalEditRefusedError('bad_request', 'the stop is no longer on the route the move was based on');
      if (stop.status !== 'planned' && stop.status !== 'failed') {
        throw new LocalEditRefusedError('invalid_transition', `a ${stop.status.replace('_', ' ')} stop cannot be moved`);
      }
      const route = await lookup('route', m.toRouteId);
      if (!route || route.locationId !== m.locationId) throw new LocalEditRefusedError('not_found', `route ${m.toRouteId} is not known at this location`);
    },
    describe: (m) => `moving the stop to route ${m.toRouteId}, position ${m.sequence + 1}`,
    describeCurrent: (_m, current) => (current.entity === 'stop' ? `on route ${current.data.routeId}, position ${current.data.sequence + 1}` : null),
  },
} satisfies Pick<OptimisticHandlers, 'route.update' | 'route.cancel' | 'route.reorder' | 'stop.cancel' | 'stop.move'>;
