import type { Route } from '@depotline/shared';
import { LocalEditRefusedError } from '../errors';
import { asRoute, clip, type OptimisticHandlers, requireExisting } from './handler';

/** Route edits on this device: creation, and assigning a driver and a vehicle. */
export const routeEdits = {
  'route.create': {
    apply(m, current) {
      if (current) return current;
      const route: Route = {
        id: m.routeId, locationId: m.locationId, name: m.name, date: m.date, driverId: null, vehicleId: null,
        version: 0, updatedAt: m.createdAt, updatedBy: null,
      };
      return route;
    },
    check(m, current) {
      if (current) throw new LocalEditRefusedError('already_exists', `route ${m.routeId} already exists`);
      return Promise.resolve();
    },
    describe: (m) => `new route “${clip(m.name, 200)}”`,
  },
  'route.assign': {
    apply(m, current) {
      const route = asRoute(current);
      return route ? { ...route, driverId: m.driverId, vehicleId: m.vehicleId, updatedAt: m.createdAt } : null;
    },
    check(m, current) {
      requireExisting(asRoute(current), 'route', m.routeId);
      return Promise.resolve();
    },
    describe: () => 'driver and vehicle assignment',
  },
} satisfies Pick<OptimisticHandlers, 'route.create' | 'route.assign'>;
