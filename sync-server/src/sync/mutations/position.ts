import crypto from 'node:crypto';
import { recordChange } from '../change-log';
import type { MutationHandlers } from './handler';

/**
 * A driver's position: the live one (one row per driver, overwritten by each report) and the
 * history (a row per report, `position_history`: the driver location history retention class,
 * deleted by age). The history's time is the device's, but never later than the server's clock,
 * so a device clock set ahead cannot keep its rows past their period.
 */
export const positionMutations = {
  'position.report': {
    assignedToCaller: (scope, m) => Promise.resolve(scope.ownDrivers.has(m.driverId)),
    // A position belongs to one driver: nobody, admins included, reports it for them (API1).
    ownedByCaller: (scope, m) => scope.ownDrivers.has(m.driverId),
    async apply(scope, m) {
      const version = await recordChange(scope.trx, m.locationId, 'position', m.driverId, scope.now);
      const row = { location_id: m.locationId, lat: m.lat, lng: m.lng, heading_deg: m.headingDeg, speed_kmh: m.speedKmh, recorded_at: m.createdAt, version };
      await scope.trx.insertInto('positions').values({ driver_id: m.driverId, ...row }).onConflict((oc) => oc.column('driver_id').doUpdateSet(row)).execute();
      await scope.trx.insertInto('position_history').values({
        id: crypto.randomUUID(), driver_id: m.driverId, location_id: m.locationId, lat: m.lat, lng: m.lng,
        heading_deg: m.headingDeg, speed_kmh: m.speedKmh, recorded_at: Math.min(m.createdAt, scope.now),
      }).execute();
      return { version, touched: [{ entity: 'position', id: m.driverId, locationId: m.locationId }] };
    },
    auditDetails: (m) => ({ mutationId: m.id }),
  },
} satisfies Pick<MutationHandlers, 'position.report'>;
