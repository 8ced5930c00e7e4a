import { useEffect, useState, type FormEvent } from 'react';
import type { BulkResult, FleetView, LocationView, PlanRouteView, RoutePlanView } from '@depotline/shared';
import { BridgeFailure, call } from '../bridge';
import { useAction } from '../security/use-action';
import { CrewPicker } from './CrewPicker';
import { ReorderableStops } from './ReorderableStops';

/**
 * One route: its name and day, its crew, and its stops in delivery order (reordered with
 * Alt+↑/↓ or by drag), with bulk actions over the stops selected. Each control shows only where
 * the user's permissions at the depot allow it (route.edit, stop.edit).
 */
export function RouteEditor({ plan, fleet, routes, location, selected, current, onToggle, onSelectAll, onOpenStop, onNewStop, onChanged }: {
  plan: RoutePlanView;
  fleet: FleetView;
  /** The day's routes, to move stops to. */
  routes: readonly PlanRouteView[];
  location: LocationView;
  selected: ReadonlySet<string>;
  current: string | null;
  onToggle: (stopId: string) => void;
  onSelectAll: (stopIds: string[]) => void;
  onOpenStop: (stopId: string) => void;
  onNewStop: () => void;
  onChanged: (plan?: RoutePlanView) => void;
}) {
  const { route, stops } = plan;
  const mayRoute = location.permissions.includes('route.edit');
  const mayStops = location.permissions.includes('stop.edit');
  const [name, setName] = useState(route.name);
  const [date, setDate] = useState(route.date);
  const [driverId, setDriverId] = useState(route.driverId ?? '');
  const [vehicleId, setVehicleId] = useState(route.vehicleId ?? '');
  const [moveTo, setMoveTo] = useState('');
  const [bulkOutcome, setBulkOutcome] = useState<string | null>(null);
  /** Cancelling a route asks once more, inline. */
  const [confirmCancel, setConfirmCancel] = useState(false);
  const details = useAction();
  const crew = useAction();
  const order = useAction();
  const bulk = useAction();
  const cancelling = useAction();
  const started = stops.some((s) => s.status !== 'planned' && s.status !== 'cancelled');
  const open = stops.some((s) => s.status === 'planned');
  // A new server value replaces the form only where the user has not typed.
  useEffect(() => setName(route.name), [route.name]);
  useEffect(() => setDate(route.date), [route.date]);
  useEffect(() => setDriverId(route.driverId ?? ''), [route.driverId]);
  useEffect(() => setVehicleId(route.vehicleId ?? ''), [route.vehicleId]);

  const chosen = stops.filter((s) => selected.has(s.id)).map((s) => s.id);
  const otherRoutes = routes.filter((r) => r.id !== route.id);

  function saveDetails(event: FormEvent) {
    event.preventDefault();
    void details.run(async () => {
      await call('updateRoute', { routeId: route.id, name, date });
      onChanged();
    });
  }

  function saveCrew() {
    void crew.run(async () => {
      const result = await call('assignRoutes', { routeIds: [route.id], driverId: driverId || null, vehicleId: vehicleId || null });
      if (result.refused[0]) throw new BridgeFailure({ code: 'bad_request', message: result.refused[0].message });
      onChanged();
    });
  }

  function reorder(stopIds: string[]) {
    void order.run(async () => onChanged(await call('reorderStops', { routeId: route.id, stopIds })));
  }

  function summarize(what: string, r: BulkResult) {
    const refused = r.refused.map((x) => `stop ${stops.findIndex((s) => s.id === x.id) + 1}: ${x.message}`).join('; ');
    setBulkOutcome(`${r.queued.length} ${what}.${refused ? ` Not done: ${refused}` : ''}`);
    onSelectAll([]);
    onChanged();
  }

  return (
    <div className="route-editor" data-testid="route-editor" data-route-id={route.id}>
      {mayRoute ? (
        <form className="route-details" onSubmit={saveDetails}>
          <label><span>Route</span><input value={name} maxLength={200} onChange={(e) => setName(e.target.value)} data-testid="route-name" aria-label="Route name" /></label>
          <label><span>Day</span><input type="date" value={date} onChange={(e) => setDate(e.target.value)} data-testid="route-date" aria-label="Route day" /></label>
          <button type="submit" disabled={details.busy || (name === route.name && date === route.date)} data-testid="route-save">Save route</button>
        </form>
      ) : (
        <h2>{route.name} <span className="muted">· {route.date}</span></h2>
      )}
      {details.error && <p className="form-error" role="alert" data-testid="route-error">{details.error}</p>}
      {mayRoute && !started && open && (
        <div className="route-cancel">
          {confirmCancel ? (
            <>
              <span>Cancel every stop of {route.name} and release its crew?</span>
              <button type="button" onClick={() => setConfirmCancel(false)}>Keep it</button>
              <button
                type="button" className="danger" disabled={cancelling.busy} data-testid="route-cancel-confirm"
                onClick={() => void cancelling.run(async () => { await call('cancelRoute', { routeId: route.id }); setConfirmCancel(false); onChanged(); })}
              >Cancel route</button>
            </>
          ) : <button type="button" onClick={() => setConfirmCancel(true)} data-testid="route-cancel">Cancel route…</button>}
          {cancelling.error && <p className="form-error" role="alert">{cancelling.error}</p>}
        </div>
      )}
      <div className="route-crew">
        <CrewPicker fleet={fleet} driverId={driverId} vehicleId={vehicleId} onDriver={setDriverId} onVehicle={setVehicleId} disabled={!mayRoute} testPrefix="crew" />
        {mayRoute && (
          <button
            type="button" onClick={saveCrew} data-testid="crew-save"
            disabled={crew.busy || (driverId === (route.driverId ?? '') && vehicleId === (route.vehicleId ?? ''))}
          >
            Assign
          </button>
        )}
        {route.pendingEdits > 0 && <span className="pending-note">waiting to sync</span>}
      </div>
      {crew.error && <p className="form-error" role="alert" data-testid="crew-error">{crew.error}</p>}

      <div className="route-stops-head">
        <label className="check">
          <input
            type="checkbox" aria-label="Select all stops" data-testid="select-all-stops"
            checked={stops.length > 0 && chosen.length === stops.length} onChange={(e) => onSelectAll(e.target.checked ? stops.map((s) => s.id) : [])}
          />
          <span className="muted">{stops.length} stop{stops.length === 1 ? '' : 's'}{mayStops ? ' · Alt+↑/↓ or drag ⠿ to reorder' : ''}</span>
        </label>
        {mayStops && <button type="button" onClick={onNewStop} data-testid="new-stop" title="N">New stop</button>}
      </div>
      {chosen.length > 0 && mayStops && (
        <div className="bulk-bar" role="group" aria-label="Selected stops" data-testid="stop-bulk-bar">
          <strong>{chosen.length} selected</strong>
          <select value={moveTo} onChange={(e) => setMoveTo(e.target.value)} aria-label="Move to route" data-testid="bulk-move-route">
            <option value="">Move to route…</option>
            {otherRoutes.map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
          </select>
          <button
            type="button" disabled={!moveTo || bulk.busy} data-testid="bulk-move"
            onClick={() => void bulk.run(async () => summarize('moved', await call('moveStops', { stopIds: chosen, toRouteId: moveTo })))}
          >Move</button>
          <button
            type="button" className="danger" disabled={bulk.busy} data-testid="bulk-cancel"
            onClick={() => void bulk.run(async () => summarize('cancelled', await call('cancelStops', { stopIds: chosen })))}
          >Cancel stops</button>
        </div>
      )}
      {(bulk.error ?? order.error) && <p className="form-error" role="alert">{bulk.error ?? order.error}</p>}
      {bulkOutcome && <p className="bulk-outcome" role="status" data-testid="bulk-outcome">{bulkOutcome}</p>}
      <ReorderableStops
        stops={stops} timeZone={location.timezone} selected={selected} current={current}
        onToggle={onToggle} onOpen={onOpenStop} onReorder={mayStops && !order.busy ? reorder : null}
      />
    </div>
  );
}
