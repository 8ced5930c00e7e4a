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
    async check(m, current, lookup) {
      const route = requireExisting(asRoute(current), 'route', m.routeId);
      // Unassigning (null) is always allowed, and so is keeping a driver or vehicle retired since.
      if (m.driverId !== null && m.driverId !== route.driverId) {
        const driver = await lookup('driver', m.driverId);
        if (!driver || driver.locationId !== m.locationId) throw new LocalEditRefusedError('not_found', `driver ${m.driverId} is not known at this location`);
        if (driver.retiredAt != null) throw new LocalEditRefusedError('bad_request', 'a retired driver cannot be assigned');
      }
      if (m.vehicleId !== null && m.vehicleId !== route.vehicleId) {
        const vehicle = await lookup('vehicle', m.vehicleId);
        if (!vehicle || vehicle.locationId !== m.locationId) throw new LocalEditRefusedError('not_found', `vehicle ${m.vehicleId} is not known at this location`);
        if (vehicle.retiredAt != null) throw new LocalEditRefusedError('bad_request', 'a retired vehicle cannot be assigned');
      }
    },
    describe: () => 'driver and vehicle assignment',
  },
} satisfies Pick<OptimisticHandlers, 'route.create' | 'route.assign'>;
