import { useState } from 'react';
import type { ConsoleIntegrationView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { localDateTime, localTimeWithSeconds } from '../format';
import { attemptOutcomeLabel } from './integration-text';

const statusTone = (status: number | null) => (status === null || status >= 500 ? 'bad' : status >= 400 ? 'warn' : 'ok');
const ms = (latency: number | null) => (latency === null ? '—' : `${Math.round(latency)} ms`);

/**
 * What the integration did lately: unusual-activity alerts, its API calls and the webhook
 * attempts to it. Status, latency, time and address only: the server logs no bodies and no
 * customer data, and this screen could not show them if it did.
 */
export function ActivitySection({ locationId, integration, version }: { locationId: string; integration: ConsoleIntegrationView; version: number }) {
  const [asked, setAsked] = useState(0);
  const activity = useQuery(() => call('integrationActivity', { locationId, integrationId: integration.id }), [locationId, integration.id, version, asked]);
  const a = activity.data;
  return (
    <section className="gov-section" aria-label={`Recent activity of ${integration.name}`} data-testid="integration-activity">
      <header>
        <h3>Recent activity</h3>
        <button type="button" onClick={() => setAsked((n) => n + 1)} disabled={activity.loading} data-testid="refresh-activity">Refresh</button>
      </header>
      {activity.error && <p className="form-error" role="alert">{activity.error}</p>}
      {!a ? <p className="muted">{activity.loading ? 'Loading…' : ''}</p> : (
        <>
          <h4>Unusual activity</h4>
          {a.alerts.length === 0 ? <p className="muted" data-testid="no-integration-alerts">Nothing unusual noticed.</p> : (
            <ul className="alert-list" data-testid="integration-alerts">
              {a.alerts.map((al) => (
                <li key={al.id} className="notice notice-warn" data-testid="integration-alert" data-alert-kind={al.kind}>
                  <strong>{localDateTime(al.at)}</strong> {al.summary}
                  {al.suspended && <span className="gov-chip deny"> credential suspended</span>}
                </li>
              ))}
            </ul>
          )}
          <h4>API calls</h4>
          {a.calls.length === 0 ? <p className="muted">No calls yet.</p> : (
            <div className="activity-scroll">
              <table className="table" data-testid="integration-calls">
                <thead><tr><th scope="col">Time</th><th scope="col">Call</th><th scope="col">Status</th><th scope="col">Latency</th><th scope="col">From</th><th scope="col">Credential</th></tr></thead>
                <tbody>
                  {a.calls.map((c, i) => (
                    <tr key={i} data-testid="integration-call">
                      <td title={localDateTime(c.at)}>{localTimeWithSeconds(c.at)}</td>
                      <td className="mono">{c.method} {c.route}</td>
                      <td><span className={`http-status ${statusTone(c.status)}`}>{c.status}</span></td>
                      <td>{ms(c.latencyMs)}</td>
                      <td className="mono">{c.ip ?? '—'}</td>
                      <td className="mono">{c.credential ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h4>Webhook attempts</h4>
          {a.attempts.length === 0 ? <p className="muted">No deliveries yet.</p> : (
            <div className="activity-scroll">
              <table className="table" data-testid="integration-attempts">
                <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Attempt</th><th scope="col">Status</th><th scope="col">Latency</th><th scope="col">Next retry</th></tr></thead>
                <tbody>
                  {a.attempts.map((t, i) => (
                    <tr key={i} data-testid="webhook-attempt">
                      <td title={localDateTime(t.at)}>{localTimeWithSeconds(t.at)}</td>
                      <td><span className="mono">{t.event}</span><div className="muted webhook-url">{t.url}</div></td>
                      <td>{t.attempt}</td>
                      <td>
                        <span className={`http-status ${t.outcome === 'delivered' ? 'ok' : statusTone(t.status)}`}>{t.status ?? '—'}</span> {attemptOutcomeLabel[t.outcome]}
                        {t.error && <div className="muted">{t.error}</div>}
                      </td>
                      <td>{ms(t.latencyMs)}</td>
                      <td>{t.nextRetryAt === null ? '—' : localDateTime(t.nextRetryAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
