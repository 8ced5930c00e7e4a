import type { DriverPosition } from '@depotline/shared';
import type { OptimisticHandlers } from './handler';

/** A driver's position report: shown at once, replaced by the server's copy when it arrives. */
export const positionEdits = {
  'position.report': {
    apply(m, current) {
      const previous = current && 'driverId' in current && 'lat' in current ? current : null;
      const position: DriverPosition = {
        driverId: m.driverId, locationId: m.locationId, lat: m.lat, lng: m.lng, headingDeg: m.headingDeg,
        speedKmh: m.speedKmh, recordedAt: m.createdAt, version: previous?.version ?? 0,
      };
      return position;
    },
    check: () => Promise.resolve(),
    describe: () => 'position report',
  },
} satisfies Pick<OptimisticHandlers, 'position.report'>;
