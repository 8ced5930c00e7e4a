import { useMemo } from 'react';
import type { UnplacedStopView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { statusLabel } from '../format';
import { routeColor } from './map-style';
import { markerLimit, RouteMap } from './RouteMap';
import './map.css';

interface Props {
  locationId: string;
  /** The routes the board shows (the selected one, or all of the day's). */
  routeIds: readonly string[];
  dataVersion: number;
  selectedStopId: string | null;
  onSelectStop: (stopId: string) => void;
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-GB')} ${word}${n === 1 ? '' : 's'}`;

/**
 * The board's map: the stops of the routes shown, their lines in stop order and their drivers'
 * last positions. Selecting a stop here selects it on the board. Stops the map cannot place are
 * listed under it ("not on the map"), and can be selected from there.
 */
export function MapPane({ locationId, routeIds, dataVersion, selectedStopId, onSelectStop }: Props) {
  const key = routeIds.join(',');
  const data = useQuery(() => call('routeMap', { locationId, routeIds: [...routeIds] }), [locationId, key, dataVersion]);
  const view = data.data;
  const routeName = useMemo(() => new Map((view?.routes ?? []).map((r) => [r.id, r.name])), [view]);

  return (
    <div className="map-pane" data-testid="map-pane">
      {view ? (
        <>
          <div className="map-legend" aria-label="Routes on the map">
            {view.routes.map((r, i) => (
              <span key={r.id} className="map-legend-item" title={r.driverName ?? 'No driver'}>
                <span className="map-legend-swatch" style={{ background: routeColor(i) }} aria-hidden="true" />
                {r.name}
              </span>
            ))}
            <span className="muted map-counts" data-testid="map-counts">
              {plural(view.stops.length, 'stop')} on the map{view.positionsShown ? ` · ${plural(view.drivers.length, 'driver')}` : ''}
            </span>
          </div>
          {view.stops.length > markerLimit && (
            <p className="notice" role="status">The map shows the first {markerLimit.toLocaleString('en-GB')} of {view.stops.length.toLocaleString('en-GB')} stops. Choose a route to see all of its stops.</p>
          )}
          <RouteMap view={view} selectedStopId={selectedStopId} onSelectStop={onSelectStop} />
          {view.stops.length === 0 && view.drivers.length === 0 && (
            <p className="map-empty muted" data-testid="map-empty">No stop of these routes has coordinates yet.</p>
          )}
          {view.unplaced.length > 0 && (
            <details className="map-unplaced" data-testid="map-unplaced" open={view.unplaced.length <= 5}>
              <summary>{plural(view.unplaced.length, 'stop')} not on the map</summary>
              <ul>
                {view.unplaced.map((s) => (
                  <li key={s.id}>
                    <button type="button" className={s.id === selectedStopId ? 'link selected' : 'link'} onClick={() => onSelectStop(s.id)} data-testid="unplaced-stop" data-stop-id={s.id}>
                      {routeName.get(s.routeId) ?? 'Route'} · stop {s.sequence + 1}{s.customerName ? ` · ${s.customerName}` : ''}
                    </button>
                    <span className="muted"> {statusLabel[s.status]} · {whyUnplaced(s)}</span>
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      ) : (
        <p className="empty-state">{data.error ?? 'Loading the map…'}</p>
      )}
      {view && data.error && <p className="pane-error" role="alert">{data.error}</p>}
    </div>
  );
}

function whyUnplaced(s: UnplacedStopView): string {
  return s.reason === 'hidden' ? 'where it is is not shown to you' : 'the order has no coordinates';
}
