import { recordChange } from '../change-log';
import type { MutationHandlers } from './handler';

/** A driver's live position: one row per driver, overwritten by each report. */
export const positionMutations = {
  'position.report': {
    assignedToCaller: (scope, m) => Promise.resolve(scope.ownDrivers.has(m.driverId)),
    // A position belongs to one driver: nobody, admins included, reports it for them (API1).
    ownedByCaller: (scope, m) => scope.ownDrivers.has(m.driverId),
    async apply(scope, m) {
      const version = await recordChange(scope.trx, m.locationId, 'position', m.driverId, scope.now);
      const row = { location_id: m.locationId, lat: m.lat, lng: m.lng, heading_deg: m.headingDeg, speed_kmh: m.speedKmh, recorded_at: m.createdAt, version };
      await scope.trx.insertInto('positions').values({ driver_id: m.driverId, ...row }).onConflict((oc) => oc.column('driver_id').doUpdateSet(row)).execute();
      return { version, touched: [{ entity: 'position', id: m.driverId, locationId: m.locationId }] };
    },
    auditDetails: (m) => ({ mutationId: m.id }),
  },
} satisfies Pick<MutationHandlers, 'position.report'>;
