import type { LocationView } from '@depotline/shared';
import { call } from '../bridge';
import { agoText, timeAt } from '../format';
import { useNow, useQuery } from './hooks';

const compass = ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'];

/** Live driver positions as a list (the board's Map view shows the drivers of the routes it shows on a map). */
export function PositionsView({ location, dataVersion }: { location: LocationView; dataVersion: number }) {
  const positions = useQuery(() => call('listPositions', { locationId: location.id }), [location.id, dataVersion]);
  const now = useNow(15_000);
  const list = positions.data ?? [];
  return (
    <section className="positions" aria-label="Driver positions" data-testid="positions">
      <table className="table">
        <thead>
          <tr><th>Driver</th><th>Last report</th><th>Position</th><th>Speed</th><th>Heading</th></tr>
        </thead>
        <tbody>
          {list.map((p) => {
            const stale = now - p.recordedAt > 10 * 60_000;
            return (
              <tr key={p.driverId} className={stale ? 'stale' : undefined} data-testid="position-row">
                <td>{p.driverName ?? p.driverId}</td>
                <td title={timeAt(p.recordedAt, location.timezone)}>{agoText(p.recordedAt, now)}{stale && <span className="muted"> · stale</span>}</td>
                <td className="mono">{p.lat.toFixed(5)}, {p.lng.toFixed(5)}</td>
                <td>{p.speedKmh === null ? '—' : `${Math.round(p.speedKmh)} km/h`}</td>
                <td>{p.headingDeg === null ? '—' : `${compass[Math.round(p.headingDeg / 45) % 8]} (${Math.round(p.headingDeg)}°)`}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {positions.data && list.length === 0 && <p className="empty-state">No driver has reported a position at this depot yet.</p>}
      {positions.error && <p className="pane-error" role="alert">{positions.error}</p>}
    </section>
  );
}
