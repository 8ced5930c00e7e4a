import { useEffect, useMemo, useState } from 'react';
import type { LocationView, StopStatus } from '@depotline/shared';
import { call } from '../bridge';
import { statusLabel, statusOrder } from '../format';
import { VirtualList } from '../ui/VirtualList';
import { AttentionBar } from './board/AttentionBar';
import { DatePicker } from './board/DatePicker';
import { RouteRow } from './board/RouteRow';
import { type BoardSort, SortSelect } from './board/SortSelect';
import { StopRow } from './board/StopRow';
import { useDebounced, useNow, useQuery } from './hooks';
import { StopDetailPanel } from './StopDetailPanel';
import { MapPane } from '../map/MapPane';
import './board/board.css';

const ALL = '__all__';
const plural = (n: number, word: string) => `${n.toLocaleString('en-GB')} ${word}${n === 1 ? '' : 's'}`;
/**
 * Late and at risk move with the clock: the summary is recounted this often even when no data
 * changes, and the routes and stops are read again when its late or at-risk count moves.
 */
const attentionRefreshMs = 15_000;

/**
 * One day of a depot: what needs attention across it on top, routes on the left (those needing
 * most attention first), their stops in the middle, the selected stop on the right.
 */
export function BoardView({ location, dataVersion }: { location: LocationView; dataVersion: number }) {
  const [searchText, setSearchText] = useState('');
  const search = useDebounced(searchText, 150);
  const [statuses, setStatuses] = useState<StopStatus[]>([]);
  const [routeId, setRouteId] = useState<string>(ALL);
  const [stopId, setStopId] = useState<string | null>(null);
  /** The middle pane: the stop list, or the map of the same routes (../map). */
  const [layout, setLayout] = useState<'list' | 'map'>('list');
  /** The day picked; null follows the depot's today. */
  const [pickedDate, setPickedDate] = useState<string | null>(null);
  const [sort, setSort] = useState<BoardSort>('attention');
  const tick = useNow(attentionRefreshMs);

  const summary = useQuery(
    () => call('boardSummary', { locationId: location.id, ...(pickedDate ? { date: pickedDate } : {}) }),
    [location.id, pickedDate, dataVersion, tick],
  );
  const date = pickedDate ?? summary.data?.today ?? null; // null means today: shown at once, not after the next summary
  const flagsMoved = summary.data ? `${summary.data.counts.late}/${summary.data.counts.atRisk}` : '';
  const filters = { ...(search ? { search } : {}), ...(statuses.length ? { statuses } : {}) };
  const routes = useQuery(
    () => call('queryBoard', { locationId: location.id, date: date ?? '', sort, ...filters }),
    [location.id, date, sort, search, statuses, dataVersion, flagsMoved], date !== null,
  );
  const stops = useQuery(
    () => call('listStops', { locationId: location.id, date: date ?? '', routeId: routeId === ALL ? null : routeId, ...filters }),
    [location.id, date, routeId, search, statuses, dataVersion, flagsMoved], date !== null,
  );
  // Another day shows other routes: the selection does not carry over.
  useEffect(() => {
    setRouteId(ALL);
    setStopId(null);
  }, [date]);

  const routeNames = useMemo(() => new Map((routes.data ?? []).map((r) => [r.id, r.name])), [routes.data]);
  const totalStops = useMemo(() => (routes.data ?? []).reduce((n, r) => n + r.stopCount, 0), [routes.data]);
  const stopList = stops.data ?? [];
  const selectedIndex = stopId ? stopList.findIndex((s) => s.id === stopId) : -1;
  const seesCustomers = location.permissions.includes('stop.readCustomer');

  const toggleStatus = (s: StopStatus) => setStatuses((list) => (list.includes(s) ? list.filter((x) => x !== s) : [...list, s]));

  return (
    <div className="board">
      <div className="board-toolbar">
        {date && <DatePicker date={date} today={summary.data?.today ?? null} timeZone={location.timezone} onChange={setPickedDate} />}
        <input
          type="search" className="search" placeholder={seesCustomers ? 'Search routes, drivers, customers, addresses…' : 'Search routes, drivers, vehicles…'}
          aria-label="Search" data-testid="search" value={searchText} onChange={(e) => setSearchText(e.target.value)}
        />
        <div className="chips" role="group" aria-label="Show stops as">
          <button type="button" className={`chip layout ${layout === 'list' ? 'on' : ''}`} aria-pressed={layout === 'list'} onClick={() => setLayout('list')} data-testid="board-layout-list">List</button>
          <button type="button" className={`chip layout ${layout === 'map' ? 'on' : ''}`} aria-pressed={layout === 'map'} onClick={() => setLayout('map')} data-testid="board-layout-map">Map</button>
        </div>
        <div className="chips" role="group" aria-label="Filter by stop status">
          {statusOrder.map((s) => (
            <button key={s} type="button" className={`chip status-${s} ${statuses.includes(s) ? 'on' : ''}`} aria-pressed={statuses.includes(s)} onClick={() => toggleStatus(s)}>
              {statusLabel[s]}
            </button>
          ))}
        </div>
        <SortSelect value={sort} onChange={setSort} />
      </div>
      <AttentionBar summary={summary.data} />
      {summary.error && <p className="pane-error" role="alert">{summary.error}</p>}
      <div className="board-panes">
        <section className="pane routes-pane" aria-label="Routes">
          <button type="button" className={`route-all ${routeId === ALL ? 'selected' : ''}`} onClick={() => setRouteId(ALL)} data-testid="route-all">
            <span>All routes</span>
            <span className="muted">{routes.data ? `${plural(routes.data.length, 'route')} · ${plural(totalStops, 'stop')}` : '…'}</span>
          </button>
          {routes.data && routes.data.length === 0 ? (
            <p className="empty-state" data-testid="no-routes">{search || statuses.length ? 'No routes match.' : 'No routes on this day.'}</p>
          ) : (
            <VirtualList
              items={routes.data ?? []} rowHeight={58} rowKey={(r) => r.id} label="Routes" testId="route-list"
              renderRow={(r) => <RouteRow route={r} selected={r.id === routeId} onSelect={() => setRouteId(r.id)} />}
            />
          )}
          {routes.error && <p className="pane-error" role="alert">{routes.error}</p>}
        </section>
        {layout === 'map' && (
          <section className="pane stops-pane" aria-label="Map">
            <MapPane
              locationId={location.id} routeIds={routeId === ALL ? (routes.data ?? []).map((r) => r.id) : [routeId]}
              dataVersion={dataVersion} selectedStopId={stopId} onSelectStop={setStopId}
            />
          </section>
        )}
        <section className="pane stops-pane" aria-label="Stops" hidden={layout === 'map'}>
          <div className="stops-head" role="presentation">
            <span className="c-seq">#</span>
            {routeId === ALL && <span className="c-route">Route</span>}
            <span className="c-customer">Customer</span>
            <span className="c-address">Address</span>
            <span className="c-window">Window</span>
            <span className="c-eta">ETA</span>
            <span className="c-status">Status</span>
          </div>
          {stops.data && stopList.length === 0 ? (
            <p className="empty-state">{search || statuses.length ? 'No stops match.' : routeId === ALL ? 'No stops on this day.' : 'No stops on this route.'}</p>
          ) : (
            <VirtualList
              items={stopList} rowHeight={34} rowKey={(s) => s.id} label="Stops" testId="stop-list" scrollToIndex={selectedIndex}
              renderRow={(s) => (
                <StopRow
                  stop={s} timeZone={location.timezone} selected={s.id === stopId} onSelect={() => setStopId(s.id)}
                  routeName={routeId === ALL ? (routeNames.get(s.routeId) ?? '') : null}
                />
              )}
            />
          )}
          <div className="pane-foot muted" data-testid="stop-count">{stops.data ? plural(stopList.length, 'stop') : 'Loading…'}</div>
          {stops.error && <p className="pane-error" role="alert">{stops.error}</p>}
        </section>
        <aside className="pane detail-pane" aria-label="Stop detail">
          {stopId ? (
            <StopDetailPanel key={stopId} stopId={stopId} timeZone={location.timezone} dataVersion={dataVersion} onClose={() => setStopId(null)} />
          ) : (
            <p className="empty-state">Select a stop to see its details and change its status.</p>
          )}
        </aside>
      </div>
    </div>
  );
}
