import { useState, type FormEvent } from 'react';
import type { ConsoleKeyView, ConsoleIntegrationView, NewConsoleKey } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { agoText, localDateTime } from '../format';
import { useAction } from '../security/use-action';
import { heldScopes, NewCredentialForm } from './CredentialForm';
import { daysFrom, endOfDay, keyStatusLabel } from './integration-text';
import { SecretOnce } from './SecretOnce';


/**
 * The integration's API keys: each by its prefix (the rest is never shown again), its scopes,
 * expiry and last use. A new or rotated key's secret is shown once (SecretOnce); rotation keeps
 * the old key working until the end date the admin sets; revocation is at once.
 */
export function KeysSection({ locationId, integration, version, onChanged }: { locationId: string; integration: ConsoleIntegrationView; version: number; onChanged: () => void }) {
  const at = { locationId, integrationId: integration.id };
  const keys = useQuery(() => call('integrationKeys', at), [locationId, integration.id, version]);
  const [creating, setCreating] = useState(false);
  const [fresh, setFresh] = useState<NewConsoleKey | null>(null);
  const made = (key: NewConsoleKey) => {
    setCreating(false);
    setFresh(key);
    onChanged();
  };

  return (
    <section className="gov-section" aria-label={`API keys of ${integration.name}`} data-testid="integration-keys">
      <header>
        <h3>API keys</h3>
        {integration.editable && !creating && !fresh && <button type="button" onClick={() => setCreating(true)} data-testid="new-key">New key</button>}
      </header>
      {fresh && (
        <SecretOnce
          what="API key" secret={fresh.secret} onDone={() => setFresh(null)}
          use={`The partner sends it as "Authorization: Bearer <key>". It works until ${localDateTime(fresh.key.expiresAt)}.`}
        />
      )}
      {creating && (
        <NewCredentialForm
          what="API key" testPrefix="key" offered={heldScopes(integration)} onCancel={() => setCreating(false)}
          create={async (fields) => made(await call('createIntegrationKey', { ...at, ...fields }))}
        />
      )}
      {keys.error && <p className="form-error" role="alert">{keys.error}</p>}
      {!keys.data ? <p className="muted">{keys.loading ? 'Loading…' : ''}</p>
        : keys.data.length === 0 ? <p className="muted">No keys yet. The partner cannot call the API until it has one.</p>
          : (
            <table className="table">
              <thead>
                <tr><th scope="col">Key</th><th scope="col">Scopes</th><th scope="col">Status</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
              </thead>
              <tbody>
                {keys.data.map((k) => <KeyRow key={k.id} k={k} at={at} editable={integration.editable} onMade={made} onChanged={onChanged} />)}
              </tbody>
            </table>
          )}
    </section>
  );
}

function KeyRow({ k, at, editable, onMade, onChanged }: {
  k: ConsoleKeyView; at: { locationId: string; integrationId: string }; editable: boolean; onMade: (key: NewConsoleKey) => void; onChanged: () => void;
}) {
  const action = useAction();
  const [asking, setAsking] = useState<'rotate' | 'revoke' | null>(null);
  const [oldEnds, setOldEnds] = useState(() => daysFrom(Date.now(), 7));
  const [expires, setExpires] = useState(() => daysFrom(Date.now(), 90));
  const live = k.status === 'active' || k.status === 'ending';

  function rotate(event: FormEvent) {
    event.preventDefault();
    const oldEndsAt = endOfDay(oldEnds);
    const expiresAt = endOfDay(expires);
    if (oldEndsAt === null || expiresAt === null) return;
    void action.run(async () => {
      const made = await call('rotateIntegrationKey', { ...at, keyId: k.id, oldEndsAt, expiresAt });
      setAsking(null);
      onMade(made);
    });
  }
  const revoke = () => void action.run(async () => {
    await call('revokeIntegrationKey', { ...at, keyId: k.id });
    setAsking(null);
    onChanged();
  });

  return (
    <>
      <tr data-testid="key-row" data-key-id={k.id} data-status={k.status}>
        <td><span className="mono">{k.id}…</span><div className="muted">{k.name}</div></td>
        <td><div className="gov-chips">{k.scopes.map((s) => <span key={s} className="gov-chip">{s}</span>)}</div></td>
        <td>
          <span className={`key-status ${k.status}`}>{keyStatusLabel[k.status]}</span>
          {k.endsAt !== null && k.status !== 'revoked' && <div className="muted">works until {localDateTime(k.endsAt)}</div>}
        </td>
        <td>{localDateTime(k.expiresAt)}</td>
        <td data-testid="key-last-used">
          {k.lastUsedAt === null ? <span className="muted">never</span> : <>{agoText(k.lastUsedAt, Date.now())}<div className="muted">{k.lastUsedIp ?? 'address unknown'}</div></>}
        </td>
        <td>
          {editable && live && asking === null && (
            <div className="row-actions">
              {k.status === 'active' && <button type="button" onClick={() => setAsking('rotate')} data-testid="rotate-key">Rotate</button>}
              <button type="button" onClick={() => setAsking('revoke')} data-testid="revoke-key">Revoke</button>
            </div>
          )}
        </td>
      </tr>
      {asking !== null && (
        <tr>
          <td colSpan={6}>
            {asking === 'rotate' ? (
              <form className="confirm gov-inline" onSubmit={rotate} aria-label={`Rotate key ${k.id}`} data-testid="rotate-form">
                <p>A new key replaces <span className="mono">{k.id}…</span>. Both work until the old one&rsquo;s end date, so the partner can switch without a gap.</p>
                <label>Old key works until <input type="date" required value={oldEnds} onChange={(e) => setOldEnds(e.target.value)} data-testid="rotate-old-ends" /></label>
                <label>New key expires on <input type="date" required value={expires} onChange={(e) => setExpires(e.target.value)} data-testid="rotate-expires" /></label>
                {action.error && <p className="form-error" role="alert">{action.error}</p>}
                <div className="actions">
                  <button type="button" onClick={() => { setAsking(null); action.clear(); }}>Cancel</button>
                  <button type="submit" className="primary" disabled={action.busy} data-testid="confirm-rotate">Make the new key</button>
                </div>
              </form>
            ) : (
              <div className="confirm" role="group" aria-label={`Revoke key ${k.id}`}>
                <p>Revoke <span className="mono">{k.id}…</span>? Every call with it is refused from now on; this cannot be undone.</p>
                {action.error && <p className="form-error" role="alert">{action.error}</p>}
                <div className="actions">
                  <button type="button" autoFocus onClick={() => { setAsking(null); action.clear(); }}>Keep it</button>
                  <button type="button" className="danger" onClick={revoke} disabled={action.busy} data-testid="confirm-revoke">Revoke key</button>
                </div>
              </div>
            )}
          </td>
        </tr>
      )}
    </>
  );
}
