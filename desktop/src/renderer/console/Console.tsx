import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ConsoleNotice, LocationView, SyncStatusView } from '@depotline/shared';
import type { ScreenProps } from '../screen-props';
import { call, useBridgeEvent } from '../bridge';
import { BoardView } from './BoardView';
import { useActivityReports, useQuery } from './hooks';
import { Notices } from './Notices';
import { PositionsView } from './PositionsView';
import { SecurityNotices } from './SecurityNotices';
import { SecurityView } from '../security/SecurityView';
import { ApprovalNotice, useAwaitingDecision } from '../governance/ApprovalNotice';
import { ApprovalsView } from '../governance/ApprovalsView';
import { ExportDialog } from '../governance/ExportDialog';
import { GroupsView } from '../governance/GroupsView';
import { ImportDialog } from '../import/ImportDialog';
import { IntegrationsView } from '../integrations/IntegrationsView';
import { PrivacyView } from '../privacy/PrivacyView';
import { FleetView } from '../planning/FleetView';
import { PlanningView } from '../planning/PlanningView';
import { ShortcutsHelp } from '../planning/ShortcutsHelp';
import { useShortcuts } from '../planning/shortcuts';
import { SyncIndicator } from './SyncIndicator';

const initialStatus: SyncStatusView = { connection: 'connecting', pendingCount: 0, lastSyncAt: null, lastError: null };

/**
 * The signed-in console. Everything it shows is fetched through the bridge and kept only in
 * React state, which is dropped when the console locks (this component unmounts).
 */
export function Console({ state }: ScreenProps<'console'>) {
  useActivityReports(state.idleLockMs);
  const [status, setStatus] = useState<SyncStatusView>(initialStatus);
  const [dataVersion, setDataVersion] = useState(0);
  const [locationId, setLocationId] = useState<string | null>(null);
  const [view, setView] = useState<'board' | 'plan' | 'fleet' | 'positions' | 'security' | 'groups' | 'approvals' | 'integrations' | 'privacy'>('board');
  /** The keyboard shortcut overlay (`?`), over any view. */
  const [shortcutsShown, setShortcutsShown] = useState(false);
  useShortcuts((key) => (key === 'help' ? setShortcutsShown((v) => !v) : key === 'close' && shortcutsShown ? setShortcutsShown(false) : false));
  /** Bumped by every security change, so the Security screen and the notices re-read together. */
  const [securityVersion, setSecurityVersion] = useState(0);
  const securityChanged = useCallback(() => setSecurityVersion((v) => v + 1), []);
  const [notices, setNotices] = useState<ConsoleNotice[]>([]);
  /** Bumped by every governance change (groups, approvals, exports), so those screens and the notice re-read together. */
  const [governanceVersion, setGovernanceVersion] = useState(0);
  const governanceChanged = useCallback(() => setGovernanceVersion((v) => v + 1), []);
  const awaitingDecision = useAwaitingDecision(governanceVersion);
  const [exporting, setExporting] = useState(false);
  const [importing, setImporting] = useState(false);
  const bump = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    void call('syncStatus').then(setStatus, () => undefined);
  }, []);
  useBridgeEvent('syncStatus', setStatus);
  // Changes come in bursts while syncing; refresh the views at most every 100 ms.
  useBridgeEvent('dataChanged', () => {
    if (bump.current) return;
    bump.current = setTimeout(() => {
      bump.current = null;
      setDataVersion((v) => v + 1);
    }, 100);
  });
  useEffect(() => () => {
    if (bump.current) clearTimeout(bump.current);
  }, []);
  useBridgeEvent('notice', (notice) => setNotices((n) => [...n, notice]));

  const locations = useQuery(() => call('listLocations'), [dataVersion]);
  const location: LocationView | null = useMemo(() => {
    const list = locations.data ?? [];
    return list.find((l) => l.id === locationId) ?? list[0] ?? null;
  }, [locations.data, locationId]);
  const canSeePositions = location?.permissions.includes('position.read') ?? false;
  const canManageGroups = location?.permissions.includes('group.manage') ?? false;
  // Who holds what is for whoever manages groups or grants at the depot (the server allows both).
  const canSeeAccess = canManageGroups || (location?.permissions.includes('grant.manage') ?? false);
  const canExport = location?.permissions.includes('export.operational') ?? false;
  // Importing creates routes and stops: shown where the user may edit both (main and the server check again).
  const canImport = (location?.permissions.includes('stop.edit') && location.permissions.includes('route.edit')) ?? false;
  const canPlan = (location?.permissions.includes('route.edit') ?? false) || (location?.permissions.includes('stop.edit') ?? false);
  const canManageFleet = location?.permissions.includes('fleet.manage') ?? false;
  const canDecide = (locations.data ?? []).some((l) => l.permissions.includes('approval.decide'));
  const canManageIntegrations = location?.permissions.includes('integration.manage') ?? false;
  // Privacy requests, retention periods and legal holds: the screen shows with any of them (main and the server check each call).
  const canSeePrivacy = (['privacy.manage', 'retention.manage', 'legalHold.manage'] as const).some((p) => location?.permissions.includes(p) ?? false);
  useEffect(() => {
    if ((view === 'positions' && !canSeePositions) || (view === 'groups' && !canSeeAccess) || (view === 'plan' && !canPlan) || (view === 'fleet' && !canManageFleet) || (view === 'integrations' && !canManageIntegrations) || (view === 'privacy' && !canSeePrivacy)) setView('board');
  }, [view, canSeePositions, canSeeAccess, canPlan, canManageFleet, canManageIntegrations, canSeePrivacy]);
  useEffect(() => {
    if (!canExport) setExporting(false);
  }, [canExport]);

  const dismissNotice = useCallback((index: number) => setNotices((n) => n.filter((_, i) => i !== index)), []);

  return (
    <div className="console" data-testid="screen-console">
      <header className="topbar">
        <div className="brand"><span className="brand-mark" aria-hidden="true" />Depotline</div>
        <label className="location-switcher">
          <span className="visually-hidden">Depot</span>
          <select
            data-testid="location-switcher"
            value={location?.id ?? ''}
            onChange={(e) => setLocationId(e.target.value)}
            disabled={(locations.data?.length ?? 0) < 2}
          >
            {(locations.data ?? []).map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
          </select>
        </label>
        <nav className="tabs" aria-label="Views">
          <button type="button" className={view === 'board' ? 'tab active' : 'tab'} aria-pressed={view === 'board'} onClick={() => setView('board')}>Routes</button>
          {canPlan && (
            <button type="button" className={view === 'plan' ? 'tab active' : 'tab'} aria-pressed={view === 'plan'} onClick={() => setView('plan')} data-testid="tab-plan">Plan</button>
          )}
          {canManageFleet && (
            <button type="button" className={view === 'fleet' ? 'tab active' : 'tab'} aria-pressed={view === 'fleet'} onClick={() => setView('fleet')} data-testid="tab-fleet" title="Drivers and vehicles">Fleet</button>
          )}
          {canSeePositions && (
            <button type="button" className={view === 'positions' ? 'tab active' : 'tab'} aria-pressed={view === 'positions'} onClick={() => setView('positions')} data-testid="tab-positions">
              Driver positions
            </button>
          )}
          <button type="button" className={view === 'security' ? 'tab active' : 'tab'} aria-pressed={view === 'security'} onClick={() => setView('security')} data-testid="tab-security">
            Security
          </button>
          {canSeeAccess && (
            <button type="button" className={view === 'groups' ? 'tab active' : 'tab'} aria-pressed={view === 'groups'} onClick={() => setView('groups')} data-testid="tab-groups">
              {canManageGroups ? 'Groups' : 'Access'}
            </button>
          )}
          <button type="button" className={view === 'approvals' ? 'tab active' : 'tab'} aria-pressed={view === 'approvals'} onClick={() => setView('approvals')} data-testid="tab-approvals">
            Approvals
            {awaitingDecision > 0 && <span className="badge-count" aria-label={`${awaitingDecision} waiting for you`} data-testid="approvals-badge">{awaitingDecision}</span>}
          </button>
          {canManageIntegrations && (
            <button type="button" className={view === 'integrations' ? 'tab active' : 'tab'} aria-pressed={view === 'integrations'} onClick={() => setView('integrations')} data-testid="tab-integrations">
              Integrations
            </button>
          )}
          {canSeePrivacy && (
            <button type="button" className={view === 'privacy' ? 'tab active' : 'tab'} aria-pressed={view === 'privacy'} onClick={() => setView('privacy')} data-testid="tab-privacy">
              Privacy
            </button>
          )}
        </nav>
        {canImport && <button type="button" onClick={() => setImporting(true)} data-testid="open-import">Import…</button>}
        {canExport && <button type="button" onClick={() => setExporting(true)} data-testid="open-export">Export…</button>}
        <div className="topbar-spacer" />
        <SyncIndicator status={status} />
        <div className="user">
          <span className="user-name" title={state.user.username}>{state.user.displayName}</span>
          <button type="button" onClick={() => void call('lock')} data-testid="lock">Lock</button>
          <button type="button" onClick={() => void call('signOut')} data-testid="sign-out">Sign out</button>
        </div>
      </header>
      <SecurityNotices version={securityVersion} onChanged={securityChanged} onOpenSecurity={() => setView('security')} showRequests={view !== 'security'} />
      {view !== 'approvals' && <ApprovalNotice count={awaitingDecision} onOpen={() => setView('approvals')} />}
      <Notices dataVersion={dataVersion} notices={notices} onDismissNotice={dismissNotice} />
      {shortcutsShown && <ShortcutsHelp onClose={() => setShortcutsShown(false)} />}
      {importing && canImport && location && <ImportDialog key={`import-${location.id}`} location={location} onClose={() => setImporting(false)} />}
      {exporting && location && <ExportDialog key={`export-${location.id}`} location={location} onClose={() => setExporting(false)} onChanged={governanceChanged} />}
      {view === 'security' ? (
        <SecurityView version={securityVersion} onChanged={securityChanged} location={location} />
      ) : view === 'approvals' ? (
        <ApprovalsView version={governanceVersion} awaiting={awaitingDecision} onChanged={governanceChanged} canDecide={canDecide} />
      ) : view === 'integrations' && location && canManageIntegrations ? (
        <IntegrationsView key={location.id} location={location} locations={locations.data ?? []} version={governanceVersion} onChanged={governanceChanged} />
      ) : view === 'privacy' && location && canSeePrivacy ? (
        <PrivacyView key={location.id} location={location} version={governanceVersion} onChanged={governanceChanged} />
      ) : view === 'groups' && location ? (
        <GroupsView key={location.id} location={location} locations={locations.data ?? []} version={governanceVersion} onChanged={governanceChanged} />
      ) : location === null ? (
        <div className="empty-state" data-testid="no-locations">
          {locations.loading ? 'Loading depots…' : 'No depot data on this computer yet. It appears once the console has synced with the server.'}
        </div>
      ) : view === 'plan' ? (
        <PlanningView key={location.id} location={location} dataVersion={dataVersion} onShowShortcuts={() => setShortcutsShown(true)} />
      ) : view === 'fleet' ? (
        <FleetView key={location.id} location={location} dataVersion={dataVersion} />
      ) : view === 'board' ? (
        <BoardView key={location.id} location={location} dataVersion={dataVersion} />
      ) : (
        <PositionsView location={location} dataVersion={dataVersion} />
      )}
    </div>
  );
}
