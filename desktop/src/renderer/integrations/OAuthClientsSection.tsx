import { useState, type FormEvent } from 'react';
import type { ConsoleIntegrationView, ConsoleOAuthClientView, NewConsoleOAuthSecret } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { agoText, localDateTime } from '../format';
import { useAction } from '../security/use-action';
import { heldScopes, NewCredentialForm } from './CredentialForm';
import { daysFrom, endOfDay, keyStatusLabel } from './integration-text';
import { SecretOnce } from './SecretOnce';

type At = { locationId: string; integrationId: string };

/**
 * The integration's OAuth 2.0 clients (client credentials grant): the partner trades the client
 * id and secret for short-lived tokens at /api/v1/oauth/token. A new or rotated client secret is
 * shown once; rotation keeps the old secret working until the end date set; revoking ends every
 * token of the client at once.
 */
export function OAuthClientsSection({ locationId, integration, version, onChanged }: { locationId: string; integration: ConsoleIntegrationView; version: number; onChanged: () => void }) {
  const at: At = { locationId, integrationId: integration.id };
  const clients = useQuery(() => call('integrationOAuthClients', at), [locationId, integration.id, version]);
  const [creating, setCreating] = useState(false);
  const [fresh, setFresh] = useState<NewConsoleOAuthSecret | null>(null);
  const made = (secret: NewConsoleOAuthSecret) => {
    setCreating(false);
    setFresh(secret);
    onChanged();
  };

  return (
    <section className="gov-section" aria-label={`OAuth clients of ${integration.name}`} data-testid="integration-oauth-clients">
      <header>
        <h3>OAuth clients</h3>
        {!creating && !fresh && <button type="button" onClick={() => setCreating(true)} data-testid="new-oauth-client">New OAuth client</button>}
      </header>
      {fresh && (
        <SecretOnce
          what="Client secret" secret={fresh.secret} onDone={() => setFresh(null)}
          use={`With client id ${fresh.client.id}, the partner asks /api/v1/oauth/token for tokens (client credentials). It works until ${localDateTime(fresh.client.expiresAt)}.`}
        />
      )}
      {creating && (
        <NewCredentialForm
          what="OAuth client" testPrefix="oauth-client" offered={heldScopes(integration)} onCancel={() => setCreating(false)}
          create={async (fields) => made(await call('createOAuthClient', { ...at, ...fields }))}
        />
      )}
      {clients.error && <p className="form-error" role="alert">{clients.error}</p>}
      {!clients.data ? <p className="muted">{clients.loading ? 'Loading…' : ''}</p>
        : clients.data.length === 0 ? <p className="muted">No OAuth clients. Partners that cannot use OAuth use an API key.</p>
          : clients.data.map((c) => <ClientRow key={c.id} c={c} at={at} onMade={made} onChanged={onChanged} />)}
    </section>
  );
}

function ClientRow({ c, at, onMade, onChanged }: { c: ConsoleOAuthClientView; at: At; onMade: (secret: NewConsoleOAuthSecret) => void; onChanged: () => void }) {
  const action = useAction();
  const [asking, setAsking] = useState<'rotate' | 'revoke' | null>(null);
  const [oldEnds, setOldEnds] = useState(() => daysFrom(Date.now(), 7));
  const live = c.status === 'active' || c.status === 'ending';

  function rotate(event: FormEvent) {
    event.preventDefault();
    const oldEndsAt = endOfDay(oldEnds);
    if (oldEndsAt === null) return;
    void action.run(async () => {
      const made = await call('rotateOAuthClientSecret', { ...at, clientId: c.id, oldEndsAt });
      setAsking(null);
      onMade(made);
    });
  }
  const revoke = () => void action.run(async () => {
    await call('revokeOAuthClient', { ...at, clientId: c.id });
    setAsking(null);
    onChanged();
  });

  return (
    <div className="gov-row" data-testid="oauth-client-row" data-client-id={c.id} data-status={c.status}>
      <div className="gov-row-head">
        <span><span className="mono">{c.id}</span> <span className="muted">{c.name}</span></span>
        <span className={`key-status ${c.status}`}>{keyStatusLabel[c.status]}</span>
      </div>
      <div className="gov-chips">{c.scopes.map((s) => <span key={s} className="gov-chip">{s}</span>)}</div>
      <div className="muted">
        Expires {localDateTime(c.expiresAt)} · last used {c.lastUsedAt === null ? 'never' : `${agoText(c.lastUsedAt, Date.now())} from ${c.lastUsedIp ?? 'an unknown address'}`}
        {c.previousSecretEndsAt !== null ? ` · previous secret works until ${localDateTime(c.previousSecretEndsAt)}` : ''}
      </div>
      {live && asking === null && (
        <div className="row-actions">
          <button type="button" onClick={() => setAsking('rotate')} data-testid="rotate-oauth-client">Rotate secret</button>
          <button type="button" onClick={() => setAsking('revoke')} data-testid="revoke-oauth-client">Revoke</button>
        </div>
      )}
      {asking === 'rotate' && (
        <form className="confirm gov-inline" onSubmit={rotate} aria-label={`Rotate the secret of ${c.id}`}>
          <p>A new secret replaces the current one, which keeps working until the date below so the partner can switch.</p>
          <label>Old secret works until <input type="date" required value={oldEnds} onChange={(e) => setOldEnds(e.target.value)} /></label>
          {action.error && <p className="form-error" role="alert">{action.error}</p>}
          <div className="actions">
            <button type="button" onClick={() => { setAsking(null); action.clear(); }}>Cancel</button>
            <button type="submit" className="primary" disabled={action.busy} data-testid="confirm-rotate-oauth-client">Make a new secret</button>
          </div>
        </form>
      )}
      {asking === 'revoke' && (
        <div className="confirm" role="group" aria-label={`Revoke ${c.id}`}>
          <p>Revoke <span className="mono">{c.id}</span>? It gets no more tokens and every token it holds stops working now; this cannot be undone.</p>
          {action.error && <p className="form-error" role="alert">{action.error}</p>}
          <div className="actions">
            <button type="button" autoFocus onClick={() => { setAsking(null); action.clear(); }}>Keep it</button>
            <button type="button" className="danger" onClick={revoke} disabled={action.busy} data-testid="confirm-revoke-oauth-client">Revoke client</button>
          </div>
        </div>
      )}
    </div>
  );
}
