import { useState, type FormEvent } from 'react';
import { webhookEventTypes, type ConsoleIntegrationView, type NewConsoleWebhookSecret, type WebhookEventType, type ConsoleWebhookView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { localDateTime } from '../format';
import { useAction } from '../security/use-action';
import { daysFrom, endOfDay, eventLabel } from './integration-text';
import { SecretOnce } from './SecretOnce';

type At = { locationId: string; integrationId: string };

/**
 * Webhook subscriptions: where events go, which events, paused or not. A new subscription's
 * signing secret, and a rotated one, is shown once; during a rotation deliveries carry both
 * signatures until the old secret ends.
 */
export function WebhooksSection({ locationId, integration, version, onChanged }: { locationId: string; integration: ConsoleIntegrationView; version: number; onChanged: () => void }) {
  const at: At = { locationId, integrationId: integration.id };
  const hooks = useQuery(() => call('integrationWebhooks', at), [locationId, integration.id, version]);
  const [creating, setCreating] = useState(false);
  const [fresh, setFresh] = useState<NewConsoleWebhookSecret | null>(null);
  const made = (secret: NewConsoleWebhookSecret) => {
    setCreating(false);
    setFresh(secret);
    onChanged();
  };

  return (
    <section className="gov-section" aria-label={`Webhooks of ${integration.name}`} data-testid="integration-webhooks">
      <header>
        <h3>Webhooks</h3>
        {integration.editable && !creating && !fresh && <button type="button" onClick={() => setCreating(true)} data-testid="new-webhook">New subscription</button>}
      </header>
      {fresh && (
        <SecretOnce
          what="Webhook signing secret" secret={fresh.secret} onDone={() => setFresh(null)}
          use={`The receiver at ${fresh.webhook.url} verifies each delivery's webhook-signature with it (Standard Webhooks).`}
        />
      )}
      {creating && <NewWebhookForm at={at} onMade={made} onCancel={() => setCreating(false)} />}
      {hooks.error && <p className="form-error" role="alert">{hooks.error}</p>}
      {!hooks.data ? <p className="muted">{hooks.loading ? 'Loading…' : ''}</p>
        : hooks.data.length === 0 ? <p className="muted">No subscriptions: the partner is told nothing unless it asks.</p>
          : hooks.data.map((w) => <WebhookRow key={w.id} w={w} at={at} editable={integration.editable} onMade={made} onChanged={onChanged} />)}
    </section>
  );
}

function EventChoices({ events, onChange }: { events: readonly WebhookEventType[]; onChange: (events: WebhookEventType[]) => void }) {
  return (
    <fieldset>
      <legend>Events</legend>
      <div className="profile-grid">
        {webhookEventTypes.map((e) => (
          <label key={e} className="check">
            <input type="checkbox" checked={events.includes(e)} onChange={(ev) => onChange(ev.target.checked ? [...events, e] : events.filter((x) => x !== e))} />
            {eventLabel[e]} <span className="muted mono">{e}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function NewWebhookForm({ at, onMade, onCancel }: { at: At; onMade: (secret: NewConsoleWebhookSecret) => void; onCancel: () => void }) {
  const action = useAction();
  const [url, setUrl] = useState('https://');
  const [events, setEvents] = useState<WebhookEventType[]>(['stop.status_changed']);
  const urlProblem = /^https:\/\/[^\s/]+/i.test(url.trim()) ? null : 'The address must start with https:// and name a host.';

  function submit(event: FormEvent) {
    event.preventDefault();
    if (urlProblem) return;
    void action.run(async () => onMade(await call('createWebhook', { ...at, url: url.trim(), events })));
  }

  return (
    <form className="gov-form" onSubmit={submit} aria-label="New webhook subscription" data-testid="webhook-form">
      <label>
        Address <span className="hint">https only; private and internal addresses are refused when delivering</span>
        <input
          autoFocus type="url" required maxLength={2048} value={url} onChange={(e) => setUrl(e.target.value)}
          aria-invalid={urlProblem !== null} aria-describedby="webhook-url-problem" data-testid="webhook-url"
        />
      </label>
      {urlProblem && url !== 'https://' && <p className="form-error" id="webhook-url-problem">{urlProblem}</p>}
      <EventChoices events={events} onChange={setEvents} />
      {action.error && <p className="form-error" role="alert" data-testid="webhook-error">{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" className="primary" disabled={action.busy || events.length === 0 || urlProblem !== null} data-testid="webhook-create">Subscribe</button>
      </div>
    </form>
  );
}

function WebhookRow({ w, at, editable, onMade, onChanged }: { w: ConsoleWebhookView; at: At; editable: boolean; onMade: (secret: NewConsoleWebhookSecret) => void; onChanged: () => void }) {
  const action = useAction();
  const [asking, setAsking] = useState<'rotate' | 'delete' | 'events' | null>(null);
  const [events, setEvents] = useState<WebhookEventType[]>(w.events);
  const [overlapEnds, setOverlapEnds] = useState(() => daysFrom(Date.now(), 7));
  const pause = () => void action.run(async () => {
    await call('setWebhookPaused', { ...at, webhookId: w.id, paused: w.status === 'active' });
    onChanged();
  });
  const rotate = () => void action.run(async () => {
    const previousSecretEndsAt = endOfDay(overlapEnds);
    const made = await call('rotateWebhookSecret', { ...at, webhookId: w.id, ...(previousSecretEndsAt !== null ? { previousSecretEndsAt } : {}) });
    setAsking(null);
    onMade(made);
  });
  const saveEvents = () => void action.run(async () => {
    await call('updateWebhookEvents', { ...at, webhookId: w.id, events });
    setAsking(null);
    onChanged();
  });
  const remove = () => void action.run(async () => {
    await call('deleteWebhook', { ...at, webhookId: w.id });
    setAsking(null);
    onChanged();
  });

  return (
    <div className="gov-row" data-testid="webhook-row" data-status={w.status}>
      <div className="gov-row-head">
        <strong className="mono webhook-url">{w.url}</strong>
        <span className={`gov-status ${w.status === 'active' ? 'approved' : 'pending'}`} data-testid="webhook-status">{w.status === 'active' ? 'Active' : w.pauseReason === 'failing' ? 'Paused (failing)' : 'Paused'}</span>
      </div>
      <div className="gov-chips" aria-label="Events">{w.events.map((e) => <span key={e} className="gov-chip" title={e}>{eventLabel[e]}</span>)}</div>
      <div className="muted">
        Since {localDateTime(w.createdAt)}
        {w.lastSuccessAt !== null ? ` · last delivered ${localDateTime(w.lastSuccessAt)}` : ''}
        {w.previousSecretEndsAt !== null ? ` · previous secret still signs until ${localDateTime(w.previousSecretEndsAt)}` : ''}
      </div>
      {w.pauseReason === 'failing' && (
        <p className="notice notice-warn" data-testid="webhook-failing">
          Paused by the server: deliveries failed for a day{w.failingSince !== null ? ` (since ${localDateTime(w.failingSince)})` : ''}. Fix the receiver, then resume: the events it missed are sent again.
        </p>
      )}
      {w.status === 'active' && w.failingSince !== null && (
        <p className="notice notice-warn">Deliveries have been failing since {localDateTime(w.failingSince)}; they are retried.</p>
      )}
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      {editable && asking === null && (
        <div className="row-actions">
          <button type="button" onClick={pause} disabled={action.busy} data-testid="pause-webhook">{w.status === 'active' ? 'Pause' : 'Resume'}</button>
          <button type="button" onClick={() => { setEvents(w.events); setAsking('events'); }} data-testid="edit-webhook-events">Events…</button>
          <button type="button" onClick={() => setAsking('rotate')} data-testid="rotate-webhook">Rotate secret</button>
          <button type="button" onClick={() => setAsking('delete')} data-testid="delete-webhook">Remove</button>
        </div>
      )}
      {asking === 'events' && (
        <div className="confirm gov-form" role="group" aria-label="Events sent to this address">
          <EventChoices events={events} onChange={setEvents} />
          <div className="actions">
            <button type="button" onClick={() => { setAsking(null); action.clear(); }}>Cancel</button>
            <button type="button" className="primary" onClick={saveEvents} disabled={action.busy || events.length === 0} data-testid="save-webhook-events">Save events</button>
          </div>
        </div>
      )}
      {(asking === 'rotate' || asking === 'delete') && (
        <div className="confirm" role="group" aria-label={asking === 'rotate' ? 'Rotate the signing secret' : 'Remove the subscription'}>
          <p>
            {asking === 'rotate'
              ? 'Make a new signing secret? Deliveries carry both signatures until the old secret ends, so the receiver can switch without rejecting any.'
              : 'Remove this subscription? Events not yet delivered to it are dropped.'}
          </p>
          {asking === 'rotate' && (
            <label className="gov-inline">
              Old secret signs until <span className="hint">empty: it stops at once</span>
              <input type="date" value={overlapEnds} onChange={(e) => setOverlapEnds(e.target.value)} data-testid="webhook-overlap-ends" />
            </label>
          )}
          <div className="actions">
            <button type="button" autoFocus onClick={() => { setAsking(null); action.clear(); }}>Cancel</button>
            {asking === 'rotate'
              ? <button type="button" className="primary" onClick={rotate} disabled={action.busy} data-testid="confirm-rotate-webhook">Make a new secret</button>
              : <button type="button" className="danger" onClick={remove} disabled={action.busy} data-testid="confirm-delete-webhook">Remove</button>}
          </div>
        </div>
      )}
    </div>
  );
}
