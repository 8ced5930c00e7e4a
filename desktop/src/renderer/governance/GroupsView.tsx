import { useState } from 'react';
import type { ApprovalView, GroupChangeResult, GroupView, LocationView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { localDateTime } from '../format';
import { useAction } from '../security/use-action';
import { AccessList } from './AccessList';
import { ApprovalCard, depotText } from './ApprovalCard';
import { GroupForm } from './GroupForm';
import './governance.css';

export interface GroupsViewProps {
  /**
   * The depot chosen in the header; the console shows this screen with `group.manage` or
   * `grant.manage` there, the groups only with `group.manage`.
   */
  location: LocationView;
  locations: readonly LocationView[];
  /** Bumped after a change here or elsewhere (an approval applied): everything re-reads. */
  version: number;
  onChanged: () => void;
}

type Editing = { kind: 'new' } | { kind: 'edit'; group: GroupView } | null;

/**
 * The Groups screen: the depot's permission groups (what each allows and denies, where it may be
 * granted, how many hold it), creating, editing and retiring them, and who holds what here.
 * A change that needs a second person is not made: the request that now waits is shown instead.
 */
export function GroupsView({ location, locations, version, onChanged }: GroupsViewProps) {
  const [includeRetired, setIncludeRetired] = useState(false);
  const [editing, setEditing] = useState<Editing>(null);
  const [outcome, setOutcome] = useState<{ text: string } | { approval: ApprovalView } | null>(null);
  const canManage = location.permissions.includes('group.manage');
  const groups = useQuery(() => (canManage ? call('listGroups', { locationId: location.id, includeRetired }) : Promise.resolve([])), [location.id, includeRetired, version, canManage]);

  const done = (result: GroupChangeResult, what: string) => {
    setEditing(null);
    setOutcome(result.outcome === 'applied' ? { text: `${what}: ${result.group.name}.` } : { approval: result.approval });
    onChanged();
  };

  return (
    <div className="governance" data-testid="groups-view">
      {canManage && <section className="gov-section" aria-label={`Permission groups at ${location.name}`}>
        <header>
          <h3>Permission groups at {location.name}</h3>
          <div className="row-actions">
            <label className="check">
              <input type="checkbox" checked={includeRetired} onChange={(e) => setIncludeRetired(e.target.checked)} /> Show retired
            </label>
            {editing === null && <button type="button" className="primary" onClick={() => { setEditing({ kind: 'new' }); setOutcome(null); }} data-testid="new-group">New group</button>}
          </div>
        </header>
        {outcome && 'text' in outcome && <p className="notice" role="status" data-testid="group-saved">{outcome.text}</p>}
        {outcome && 'approval' in outcome && (
          <div className="notice" role="status" data-testid="group-pending">
            <strong>Not changed yet: this needs a second person&rsquo;s approval.</strong> The request below waits for someone who may approve it; you can follow it under Approvals.
            <ApprovalCard approval={outcome.approval} onChanged={onChanged} />
          </div>
        )}
        {editing?.kind === 'new' && (
          <GroupForm location={location} locations={locations} onDone={(r) => done(r, 'Group created')} onCancel={() => setEditing(null)} />
        )}
        {groups.error && <p className="form-error" role="alert">{groups.error}</p>}
        {!groups.data ? <p className="muted">{groups.loading ? 'Loading…' : ''}</p>
          : groups.data.length === 0 ? <p className="muted">No groups here yet. Grants name a role template until a group is made.</p>
            : groups.data.map((g) => editing?.kind === 'edit' && editing.group.id === g.id
              ? <GroupForm key={g.id} location={location} locations={locations} group={g} onDone={(r) => done(r, 'Group saved')} onCancel={() => setEditing(null)} />
              : <GroupRow key={g.id} group={g} location={location} canEdit={editing === null} onEdit={() => { setEditing({ kind: 'edit', group: g }); setOutcome(null); }} onDone={(r) => done(r, 'Group retired')} />)}
      </section>}
      <AccessList location={location} version={version} />
    </div>
  );
}

function GroupRow({ group: g, location, canEdit, onEdit, onDone }: {
  group: GroupView; location: LocationView; canEdit: boolean; onEdit: () => void; onDone: (result: GroupChangeResult) => void;
}) {
  const action = useAction();
  const [retiring, setRetiring] = useState(false);
  const retire = () => void action.run(async () => {
    onDone(await call('retireGroup', { locationId: location.id, id: g.id }));
  });
  return (
    <div className="gov-row" data-testid="group-row" data-group-name={g.name}>
      <div className="gov-row-head">
        <strong>{g.name}</strong>
        <span className="muted">
          {g.retiredAt !== null ? <span className="gov-chip retired">retired {localDateTime(g.retiredAt)}</span>
            : `${g.holders} holder${g.holders === 1 ? '' : 's'} · version ${g.version}`}
        </span>
      </div>
      {g.description && <div>{g.description}</div>}
      <div className="gov-chips" aria-label="Allows">{g.permissions.map((p) => <span key={p} className="gov-chip" title="allowed">{p}</span>)}</div>
      {g.denials.length > 0 && <div className="gov-chips" aria-label="Denies">{g.denials.map((p) => <span key={p} className="gov-chip deny" title="denied">no {p}</span>)}</div>}
      <div className="muted">
        May be granted at {g.locations.map(depotText).join(', ')}
        {g.mfaRequired ? ' · second factor required' : ''}{g.mustExpire ? ' · grants must end' : ''}
      </div>
      {g.retiredAt === null && canEdit && !retiring && (
        <div className="row-actions">
          <button type="button" onClick={onEdit} data-testid="edit-group">Edit</button>
          <button type="button" onClick={() => setRetiring(true)} data-testid="retire-group">Retire</button>
        </div>
      )}
      {retiring && (
        <div className="confirm">
          <p>Retire {g.name}? Its {g.holders} holder{g.holders === 1 ? '' : 's'} lose what it gives at once, and their grants of it end. It cannot be brought back.</p>
          {action.error && <p className="form-error" role="alert">{action.error}</p>}
          <div className="actions">
            <button type="button" onClick={() => { setRetiring(false); action.clear(); }}>Keep it</button>
            <button type="button" className="danger" onClick={retire} disabled={action.busy} data-testid="confirm-retire">Retire group</button>
          </div>
        </div>
      )}
    </div>
  );
}
