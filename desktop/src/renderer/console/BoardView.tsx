import { useMemo, useState } from 'react';
import type { LocationView, RouteRowView, StopRowView, StopStatus } from '@depotline/shared';
import { call } from '../bridge';
import { statusLabel, statusOrder, timeAt, windowText } from '../format';
import { ProgressBar, StatusBadge } from '../ui/StatusBadge';
import { VirtualList } from '../ui/VirtualList';
import { useDebounced, useQuery } from './hooks';
import { StopDetailPanel } from './StopDetailPanel';

const ALL = '__all__';
const plural = (n: number, word: string) => `${n.toLocaleString('en-GB')} ${word}${n === 1 ? '' : 's'}`;

/** Routes on the left, their stops in the middle, the selected stop on the right. */
export function BoardView({ location, dataVersion }: { location: LocationView; dataVersion: number }) {
  const [searchText, setSearchText] = useState('');
  const search = useDebounced(searchText, 150);
  const [statuses, setStatuses] = useState<StopStatus[]>([]);
  const [routeId, setRouteId] = useState<string>(ALL);
  const [stopId, setStopId] = useState<string | null>(null);

  const routes = useQuery(
    () => call('queryBoard', { locationId: location.id, ...(search ? { search } : {}), ...(statuses.length ? { statuses } : {}) }),
    [location.id, search, statuses, dataVersion],
  );
  const stops = useQuery(
    () => call('listStops', { locationId: location.id, routeId: routeId === ALL ? null : routeId, ...(search ? { search } : {}), ...(statuses.length ? { statuses } : {}) }),
    [location.id, routeId, search, statuses, dataVersion],
  );
  const routeNames = useMemo(() => new Map((routes.data ?? []).map((r) => [r.id, r.name])), [routes.data]);
  const totalStops = useMemo(() => (routes.data ?? []).reduce((n, r) => n + r.stopCount, 0), [routes.data]);
  const stopList = stops.data ?? [];
  const selectedIndex = stopId ? stopList.findIndex((s) => s.id === stopId) : -1;
  const seesCustomers = location.permissions.includes('stop.readCustomer');

  const toggleStatus = (s: StopStatus) => setStatuses((list) => (list.includes(s) ? list.filter((x) => x !== s) : [...list, s]));

  return (
    <div className="board">
      <div className="board-toolbar">
        <input
          type="search" className="search" placeholder={seesCustomers ? 'Search routes, drivers, customers, addresses…' : 'Search routes, drivers, vehicles…'}
          aria-label="Search" data-testid="search" value={searchText} onChange={(e) => setSearchText(e.target.value)}
        />
        <div className="chips" role="group" aria-label="Filter by stop status">
          {statusOrder.map((s) => (
            <button key={s} type="button" className={`chip status-${s} ${statuses.includes(s) ? 'on' : ''}`} aria-pressed={statuses.includes(s)} onClick={() => toggleStatus(s)}>
              {statusLabel[s]}
            </button>
          ))}
        </div>
      </div>
      <div className="board-panes">
        <section className="pane routes-pane" aria-label="Routes">
          <button type="button" className={`route-all ${routeId === ALL ? 'selected' : ''}`} onClick={() => setRouteId(ALL)} data-testid="route-all">
            <span>All routes</span>
            <span className="muted">{routes.data ? `${plural(routes.data.length, 'route')} · ${plural(totalStops, 'stop')}` : '…'}</span>
          </button>
          <VirtualList
            items={routes.data ?? []} rowHeight={58} rowKey={(r) => r.id} label="Routes" testId="route-list"
            renderRow={(r) => <RouteRow route={r} selected={r.id === routeId} onSelect={() => setRouteId(r.id)} />}
          />
          {routes.error && <p className="pane-error" role="alert">{routes.error}</p>}
        </section>
        <section className="pane stops-pane" aria-label="Stops">
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
            <p className="empty-state">{search || statuses.length ? 'No stops match.' : 'No stops on this route.'}</p>
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

function RouteRow({ route, selected, onSelect }: { route: RouteRowView; selected: boolean; onSelect: () => void }) {
  return (
    <button type="button" className={`route-row ${selected ? 'selected' : ''}`} onClick={onSelect} data-testid="route-row" data-route-id={route.id}>
      <span className="route-line">
        <span className="route-name">{route.name}</span>
        <span className="route-count">{route.doneCount}/{route.stopCount}</span>
      </span>
      <span className="route-line muted">
        <span className="route-meta">{route.driverName ?? 'No driver'} · {route.vehicleLabel ?? 'no vehicle'}</span>
        {route.pendingEdits > 0 && <span className="pending-dot" title={`${route.pendingEdits} edits waiting to sync`}>{route.pendingEdits}</span>}
      </span>
      <ProgressBar byStatus={route.byStatus} total={route.stopCount} />
    </button>
  );
}

function StopRow({ stop, timeZone, selected, onSelect, routeName }: { stop: StopRowView; timeZone: string; selected: boolean; onSelect: () => void; routeName: string | null }) {
  return (
    <button type="button" className={`stop-row ${selected ? 'selected' : ''}`} onClick={onSelect} data-testid="stop-row" data-stop-id={stop.id} data-status={stop.status}>
      <span className="c-seq">{stop.sequence + 1}</span>
      {routeName !== null && <span className="c-route" title={routeName}>{routeName}</span>}
      <span className="c-customer">{stop.customerName ?? <span className="muted">hidden</span>}</span>
      <span className="c-address" title={stop.address}>{stop.address ?? <span className="muted">hidden</span>}</span>
      <span className="c-window">{windowText(stop.window, timeZone)}</span>
      <span className="c-eta">{stop.eta ? timeAt(stop.eta, timeZone) : '—'}</span>
      <span className="c-status"><StatusBadge status={stop.status} />{stop.pending && <span className="pending-dot" title="Waiting to sync">•</span>}</span>
    </button>
  );
}
