import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { type LocationView, type RoutePlanView, type StopOrderView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { useAction } from '../security/use-action';
import { CrewPicker } from './CrewPicker';
import { FailureReasonDialog } from './FailureReasonDialog';
import { RouteEditor } from './RouteEditor';
import { StopEditor, type StopEditorTarget } from './StopEditor';
import { useShortcuts } from './shortcuts';
import { todayIn } from './zoned-time';
import './planning.css';

/**
 * Planning a day at a depot: the day's routes (new route, crews for a selection of routes), the
 * open route's stops in order (reorder, move, cancel), and the stop editor. Every change is an
 * outbox edit: it shows at once, works offline, and the server has the last word.
 */
export function PlanningView({ location, dataVersion, onShowShortcuts }: { location: LocationView; dataVersion: number; onShowShortcuts: () => void }) {
  const tz = location.timezone;
  const mayRoute = location.permissions.includes('route.edit');
  const mayStops = location.permissions.includes('stop.edit');
  const mayFail = location.permissions.includes('stop.setStatus');
  const [date, setDate] = useState(() => todayIn(tz));
  const [routeId, setRouteId] = useState<string | null>(null);
  const [checkedRoutes, setCheckedRoutes] = useState<ReadonlySet<string>>(new Set());
  const [selectedStops, setSelectedStops] = useState<ReadonlySet<string>>(new Set());
  const [editor, setEditor] = useState<StopEditorTarget | null>(null);
  const [editorKey, setEditorKey] = useState(0);
  const [failing, setFailing] = useState<{ stopId: string; label: string } | null>(null);
  const [creating, setCreating] = useState(false);
  const [localVersion, setLocalVersion] = useState(0);
  const bump = useCallback(() => setLocalVersion((v) => v + 1), []);

  const day = useQuery(() => call('planDay', { locationId: location.id, date }), [location.id, date, dataVersion, localVersion]);
  const routes = day.data?.routes ?? [];
  const fleet = day.data ?? { drivers: [], vehicles: [] };
  // A day read afresh keeps the open route if it is still that day's, else opens the first.
  useEffect(() => {
    const list = day.data?.routes;
    if (list) setRouteId((open) => (open !== null && list.some((r) => r.id === open) ? open : list[0]?.id ?? null));
  }, [day.data]);
  const fetchedPlan = useQuery(() => (routeId ? call('routePlan', { routeId }) : Promise.resolve(null)), [routeId, dataVersion, localVersion]);
  const [plan, setPlan] = useState<RoutePlanView | null>(null);
  useEffect(() => setPlan(fetchedPlan.data ?? null), [fetchedPlan.data]);
  useEffect(() => setSelectedStops(new Set()), [routeId]);

  const stops = plan?.stops ?? [];
  const currentStop = editor?.kind === 'edit' ? editor.stopId : null;
  const openStop = (stopId: string) => { setEditor({ kind: 'edit', stopId }); setEditorKey((k) => k + 1); };
  const newStop = () => {
    if (plan && mayStops) { setEditor({ kind: 'new', routeId: plan.route.id, date: plan.route.date }); setEditorKey((k) => k + 1); }
  };
  const toggleStop = (id: string) => setSelectedStops((s) => { const n = new Set(s); if (n.has(id)) n.delete(id); else n.add(id); return n; });
  const focusedStop = (): string | null => {
    const el = document.activeElement?.closest('[data-stop-id]');
    return el?.getAttribute('data-stop-id') ?? currentStop;
  };
  const failStop = (stopId: string) => {
    const index = stops.findIndex((s) => s.id === stopId);
    const s = stops[index];
    if (!s || !mayFail) return;
    if (s.status !== 'en_route' && s.status !== 'arrived') return;
    setFailing({ stopId, label: `${plan?.route.name ?? 'Route'} · stop ${index + 1}${s.customerName ? ` · ${s.customerName}` : ''}` });
  };

  useShortcuts((key) => {
    // `?` is the console's (the overlay is over every view); a dialog open here takes the keys.
    if (key === 'help' || document.querySelector('dialog[open]')) return false;
    switch (key) {
      case 'close': if (editor) { setEditor(null); return; } return false;
      case 'newStop': return newStop();
      case 'newRoute': if (mayRoute) { setCreating(true); return; } return false;
      case 'editStop': { const id = focusedStop(); if (id) openStop(id); return; }
      case 'failStop': { const id = focusedStop(); if (id) failStop(id); return; }
      case 'toggleSelect': { const id = focusedStop(); if (id) toggleStop(id); return; }
      case 'next': case 'previous': {
        if (stops.length === 0) return;
        const at = stops.findIndex((s) => s.id === focusedStop());
        const next = stops[Math.max(0, Math.min(stops.length - 1, at < 0 ? 0 : at + (key === 'next' ? 1 : -1)))]!;
        document.querySelector<HTMLElement>(`[data-testid="plan-stop"][data-stop-id="${CSS.escape(next.id)}"] .plan-stop-open`)?.focus();
        return;
      }
    }
  });

  const saved = (view: StopOrderView) => {
    setEditor({ kind: 'edit', stopId: view.stop.id });
    bump();
  };

  return (
    <div className="planning" data-testid="planning">
      <div className="plan-toolbar">
        <label className="plan-date"><span>Day</span>
          <input type="date" value={date} onChange={(e) => e.target.value && setDate(e.target.value)} data-testid="plan-date" />
        </label>
        {mayRoute && <button type="button" onClick={() => setCreating(true)} data-testid="new-route" title="R">New route</button>}
        {mayRoute && checkedRoutes.size > 0 && <BulkCrew routeIds={[...checkedRoutes]} fleet={fleet} onDone={() => { setCheckedRoutes(new Set()); bump(); }} />}
        <div className="topbar-spacer" />
        <button type="button" onClick={onShowShortcuts} data-testid="open-shortcuts" aria-keyshortcuts="?">Shortcuts ?</button>
      </div>
      {creating && <NewRouteForm locationId={location.id} date={date} onClose={() => setCreating(false)} onCreated={(id, on) => { setCreating(false); setDate(on); setRouteId(id); bump(); }} />}
      <div className="plan-panes">
        <section className="pane plan-routes" aria-label="Routes of the day" data-testid="plan-routes">
          {routes.length === 0 && day.data && <p className="empty-state">No routes on {date}.{mayRoute ? ' Create one with New route.' : ''}</p>}
          <ul>
            {routes.map((r) => (
              <li key={r.id} className={r.id === routeId ? 'selected' : ''} data-testid="plan-route" data-route-id={r.id}>
                {mayRoute && (
                  <input
                    type="checkbox" aria-label={`Select ${r.name}`} checked={checkedRoutes.has(r.id)} data-testid="plan-route-select"
                    onChange={() => setCheckedRoutes((s) => { const n = new Set(s); if (n.has(r.id)) n.delete(r.id); else n.add(r.id); return n; })}
                  />
                )}
                <button type="button" onClick={() => setRouteId(r.id)}>
                  <span className="route-name">{r.name}</span>
                  <span className="muted">{r.driverName ?? 'No driver'} · {r.vehicleLabel ?? 'no vehicle'} · {r.stopCount} stop{r.stopCount === 1 ? '' : 's'}</span>
                </button>
                {r.pendingEdits > 0 && <span className="pending-dot" title="Waiting to sync">{r.pendingEdits}</span>}
              </li>
            ))}
          </ul>
          {day.error && <p className="pane-error" role="alert">{day.error}</p>}
        </section>
        <section className="pane plan-route" aria-label="Route">
          {plan ? (
            <RouteEditor
              key={plan.route.id} plan={plan} fleet={fleet} routes={routes} location={location} selected={selectedStops} current={currentStop}
              onToggle={toggleStop} onSelectAll={(ids) => setSelectedStops(new Set(ids))} onOpenStop={openStop} onNewStop={newStop}
              onChanged={(next) => { if (next) setPlan(next); bump(); }}
            />
          ) : <p className="empty-state">{fetchedPlan.error ?? 'Choose a route.'}</p>}
        </section>
        <aside className="pane plan-stop-pane" aria-label="Stop editor">
          {editor ? (
            <StopEditor key={editorKey} target={editor} location={location} dataVersion={dataVersion + localVersion} onClose={() => setEditor(null)} onSaved={saved} />
          ) : <p className="empty-state">Open a stop to edit it{mayStops ? ', or add a new one (N)' : ''}. Press ? for shortcuts.</p>}
          {editor?.kind === 'edit' && mayFail && ['en_route', 'arrived'].includes(stops.find((s) => s.id === editor.stopId)?.status ?? '') && (
            <button type="button" className="danger fail-button" onClick={() => failStop(editor.stopId)} data-testid="plan-mark-failed">Mark failed… (F)</button>
          )}
        </aside>
      </div>
      {failing && <FailureReasonDialog stopId={failing.stopId} label={failing.label} onClose={() => setFailing(null)} onDone={() => { setFailing(null); bump(); }} />}
    </div>
  );
}

function NewRouteForm({ locationId, date, onClose, onCreated }: { locationId: string; date: string; onClose: () => void; onCreated: (routeId: string, date: string) => void }) {
  const [name, setName] = useState('');
  const [day, setDay] = useState(date);
  const action = useAction();
  function submit(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => onCreated((await call('createRoute', { locationId, name, date: day })).id, day));
  }
  return (
    <form className="new-route" onSubmit={submit} data-testid="new-route-form">
      <label><span>Name</span><input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} autoFocus data-testid="new-route-name" /></label>
      <label><span>Day</span><input type="date" value={day} onChange={(e) => setDay(e.target.value)} data-testid="new-route-date" /></label>
      <button type="submit" className="primary" disabled={action.busy || name.trim() === ''} data-testid="new-route-create">Create route</button>
      <button type="button" onClick={onClose}>Cancel</button>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
    </form>
  );
}

const keep = 'keep';

/** One driver and/or vehicle for every route checked in the list; what is left on "keep" stays as each route has it. */
function BulkCrew({ routeIds, fleet, onDone }: { routeIds: string[]; fleet: Parameters<typeof CrewPicker>[0]['fleet']; onDone: () => void }) {
  const [driverId, setDriverId] = useState(keep);
  const [vehicleId, setVehicleId] = useState(keep);
  const [outcome, setOutcome] = useState<string | null>(null);
  const action = useAction();
  const apply = () => void action.run(async () => {
    const r = await call('assignRoutes', {
      routeIds,
      ...(driverId !== keep ? { driverId: driverId || null } : {}),
      ...(vehicleId !== keep ? { vehicleId: vehicleId || null } : {}),
    });
    setOutcome(r.refused.length ? `Not assigned: ${r.refused.map((x) => x.message).join('; ')}` : null);
    if (r.refused.length === 0) onDone();
  });
  return (
    <div className="bulk-bar" role="group" aria-label="Crew for the routes selected" data-testid="route-bulk-bar">
      <strong>{routeIds.length} route{routeIds.length === 1 ? '' : 's'}</strong>
      <CrewPicker fleet={fleet} driverId={driverId} vehicleId={vehicleId} onDriver={setDriverId} onVehicle={setVehicleId} testPrefix="bulk-crew" keep={keep} />
      <button type="button" className="primary" disabled={action.busy || (driverId === keep && vehicleId === keep)} onClick={apply} data-testid="bulk-assign">Assign to all</button>
      {(action.error ?? outcome) && <span className="form-error" role="alert">{action.error ?? outcome}</span>}
    </div>
  );
}
