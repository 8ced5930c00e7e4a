import { useState, type FormEvent } from 'react';
import { sensitiveProfileFields, type ConsoleIntegrationView, type LocationView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { localDateTime } from '../format';
import { depotText } from '../governance/ApprovalCard';
import { useAction } from '../security/use-action';
import { ActivitySection } from './ActivitySection';
import { IntegrationForm } from './IntegrationForm';
import { kindLabel, profileFieldLabel } from './integration-text';
import { KeysSection } from './KeysSection';
import { OAuthClientsSection } from './OAuthClientsSection';
import { ProfileEditor } from './ProfileEditor';
import { WebhooksSection } from './WebhooksSection';
import '../governance/governance.css';
import './integrations.css';

export interface IntegrationsViewProps {
  /** The depot chosen in the header; the console shows this screen with `integration.manage` there. */
  location: LocationView;
  locations: readonly LocationView[];
  /** Bumped after a change here or elsewhere (an approval applied): everything re-reads. */
  version: number;
  onChanged: () => void;
}

const sensitive = new Set<string>(sensitiveProfileFields);

/**
 * The Integrations screen, for admins: the partner systems registered at the depot, what each
 * may do and receive, its API keys and webhook subscriptions, and what it did lately. One
 * integration is open at a time, below the list.
 */
export function IntegrationsView({ location, locations, version, onChanged }: IntegrationsViewProps) {
  const list = useQuery(() => call('listIntegrations', { locationId: location.id }), [location.id, version]);
  const [openId, setOpenId] = useState<string | null>(null);
  const [editing, setEditing] = useState<'new' | 'edit' | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const open = list.data?.find((i) => i.id === openId) ?? null;

  const done = (integration: ConsoleIntegrationView, what: string) => {
    setEditing(null);
    setOpenId(integration.id);
    setSaved(`${what}: ${integration.name}.`);
    onChanged();
  };

  return (
    <div className="governance" data-testid="integrations-view">
      <section className="gov-section" aria-label={`Integrations at ${location.name}`}>
        <header>
          <h3>Integrations at {location.name}</h3>
          {editing === null && <button type="button" className="primary" onClick={() => { setEditing('new'); setSaved(null); }} data-testid="new-integration">New integration</button>}
        </header>
        {saved && <p className="notice" role="status" data-testid="integration-saved">{saved}</p>}
        {editing === 'new' && <IntegrationForm location={location} locations={locations} onDone={(i) => done(i, 'Integration registered')} onCancel={() => setEditing(null)} />}
        {list.error && <p className="form-error" role="alert">{list.error}</p>}
        {!list.data ? <p className="muted">{list.loading ? 'Loading…' : ''}</p>
          : list.data.length === 0 ? <p className="muted">No integrations here. Register a shop, courier partner or other system to give it API keys and webhooks.</p>
            : (
              <ul className="integration-list" aria-label="Integrations">
                {list.data.map((i) => (
                  <li key={i.id}>
                    <IntegrationRow integration={i} open={i.id === openId} onOpen={() => { setOpenId(i.id === openId ? null : i.id); setEditing(null); setSaved(null); }} />
                  </li>
                ))}
              </ul>
            )}
      </section>
      {open && (
        <IntegrationDetail
          key={open.id} location={location} locations={locations} integration={open} version={version}
          editing={editing === 'edit'} onEdit={(on) => setEditing(on ? 'edit' : null)} onSaved={(i) => done(i, 'Integration saved')} onChanged={onChanged}
        />
      )}
    </div>
  );
}

function IntegrationRow({ integration: i, open, onOpen }: { integration: ConsoleIntegrationView; open: boolean; onOpen: () => void }) {
  return (
    <div className={open ? 'gov-row integration-row open' : 'gov-row integration-row'} data-testid="integration-row" data-integration-name={i.name} data-status={i.suspended ? 'suspended' : 'active'}>
      <div className="gov-row-head">
        <button type="button" className="link-button" aria-expanded={open} onClick={onOpen} data-testid="open-integration">
          <strong>{i.name}</strong>
        </button>
        <span>
          <span className="gov-chip">{kindLabel[i.kind]}</span>{' '}
          <span className={`gov-status ${i.suspended ? 'denied' : 'approved'}`} data-testid="integration-status">{i.suspended ? 'Suspended' : 'Active'}</span>
        </span>
      </div>
      <div className="muted">At {i.scopes.map((s) => `${depotText(s.location)} (${s.scopes.join(', ')})`).join('; ')}</div>
      <div className="gov-chips" aria-label="Receives" data-testid="integration-profile">
        {i.profile.map((f) => <span key={f} className={sensitive.has(f) ? 'gov-chip deny' : 'gov-chip'}>{profileFieldLabel[f]}</span>)}
      </div>
    </div>
  );
}

function IntegrationDetail({ location, locations, integration: i, version, editing, onEdit, onSaved, onChanged }: {
  location: LocationView; locations: readonly LocationView[]; integration: ConsoleIntegrationView; version: number;
  editing: boolean; onEdit: (on: boolean) => void; onSaved: (i: ConsoleIntegrationView) => void; onChanged: () => void;
}) {
  const action = useAction();
  const [suspending, setSuspending] = useState(false);
  const [reason, setReason] = useState('');
  const at = { locationId: location.id, integrationId: i.id };
  const resume = () => void action.run(async () => {
    await call('setIntegrationSuspended', { ...at, suspended: false });
    onChanged();
  });
  function suspend(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      await call('setIntegrationSuspended', { ...at, suspended: true, reason: reason.trim() });
      setSuspending(false);
      setReason('');
      onChanged();
    });
  }
  return (
    <div className="integration-detail" data-testid="integration-detail" aria-label={`Integration ${i.name}`} role="region">
      <section className="gov-section">
        <header>
          <h3>{i.name}</h3>
          {i.editable && !editing && !suspending && (
            <div className="row-actions">
              <button type="button" onClick={() => onEdit(true)} data-testid="edit-integration">Edit</button>
              {i.suspended
                ? <button type="button" onClick={resume} disabled={action.busy} data-testid="resume-integration">Resume</button>
                : <button type="button" onClick={() => setSuspending(true)} data-testid="suspend-integration">Suspend</button>}
            </div>
          )}
        </header>
        {i.suspended && (
          <p className="notice notice-warn" data-testid="integration-suspended">
            Suspended {localDateTime(i.suspended.at)}{i.suspended.reason ? `: ${i.suspended.reason}` : ''}. Every call with its keys is refused until it is resumed.
          </p>
        )}
        {i.warnings.map((w) => <p key={w} className="notice notice-warn">{w}</p>)}
        {suspending && (
          <form className="confirm" onSubmit={suspend} aria-label={`Suspend ${i.name}`}>
            <label>
              Why suspend it? <span className="hint">the other admins and the audit log read this</span>
              <input autoFocus required minLength={3} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="suspend-reason" />
            </label>
            <div className="actions">
              <button type="button" onClick={() => { setSuspending(false); action.clear(); }}>Cancel</button>
              <button type="submit" className="danger" disabled={action.busy} data-testid="confirm-suspend">Suspend now</button>
            </div>
          </form>
        )}
        {action.error && <p className="form-error" role="alert">{action.error}</p>}
        {editing ? <IntegrationForm location={location} locations={locations} integration={i} onDone={onSaved} onCancel={() => onEdit(false)} /> : (
          <dl className="facts integration-facts">
            <dt>Kind</dt><dd>{kindLabel[i.kind]}</dd>
            <dt>Contact</dt><dd>{i.contact || <span className="muted">none given</span>}</dd>
            <dt>Calls from</dt><dd className="mono" data-testid="integration-allowlist-view">{i.ipAllowlist.length === 0 ? 'any address' : i.ipAllowlist.join(', ')}</dd>
            <dt>On alerts</dt><dd>{i.autoSuspend ? 'the credential is suspended automatically' : 'admins are told'}</dd>
          </dl>
        )}
        {!i.editable && (
          <p className="muted" data-testid="integration-read-only">
            This integration also works for depots where you do not manage integrations: its settings, keys and webhooks are managed by its administrators there.
          </p>
        )}
      </section>
      <section className="gov-section" aria-label={`Data profile of ${i.name}`}>
        <header><h3>Data profile</h3></header>
        <ProfileEditor locationId={location.id} integration={i} onChanged={onChanged} />
      </section>
      {i.editable && <KeysSection locationId={location.id} integration={i} version={version} onChanged={onChanged} />}
      {i.editable && <OAuthClientsSection locationId={location.id} integration={i} version={version} onChanged={onChanged} />}
      {i.editable && <WebhooksSection locationId={location.id} integration={i} version={version} onChanged={onChanged} />}
      <ActivitySection locationId={location.id} integration={i} version={version} />
    </div>
  );
}
