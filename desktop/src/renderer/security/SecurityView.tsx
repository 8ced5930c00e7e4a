import type { ReactNode } from 'react';
import type { AlertView, LocationView, SignInRequestView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { localDateTime } from '../format';
import { alertText, notYouText } from './alert-text';
import { ChangePassword } from './ChangePassword';
import { DepotSecurity } from './DepotSecurity';
import { RecoveryCodes } from './RecoveryCodes';
import { SecurityKeys } from './SecurityKeys';
import { Devices, Sessions } from './SessionsAndDevices';
import { useAction } from './use-action';

export interface SecurityProps {
  /** Bumped after any change here or in the console's notices: everything re-reads. */
  version: number;
  onChanged: () => void;
  /** The depot chosen in the header: its admin part shows only to holders of `security.read` there. */
  location: LocationView | null;
}

/**
 * The Security screen: the user's own account as the server sees it, fetched when shown and
 * after each change (nothing of it is kept). Parts this server does not offer say so.
 */
export function SecurityView({ version, onChanged, location }: SecurityProps) {
  const overview = useQuery(() => call('securityOverview'), [version]);
  const o = overview.data;
  return (
    <div className="security" data-testid="security-view">
      <div className="security-head">
        <h2>Security</h2>
        <p className="muted">Where your account is signed in, how it signs in, and what happened to it lately.</p>
      </div>
      {overview.error && <p className="form-error" role="alert">{overview.error}</p>}
      {!o ? (
        <p className="empty-state">{overview.loading ? 'Loading…' : ''}</p>
      ) : (
        <div className="security-grid">
          {o.signInRequests && o.signInRequests.some((r) => r.status === 'pending') && (
            <Section title="Sign-ins waiting for your approval" testId="security-requests" wide>
              {o.signInRequests.filter((r) => r.status === 'pending').map((r) => <RequestRow key={r.id} request={r} onChanged={onChanged} />)}
            </Section>
          )}
          {location?.permissions.includes('security.read') && <DepotSecurity key={location.id} location={location} version={version} onChanged={onChanged} />}
          <Section title="Sessions" testId="security-sessions" wide>
            <Sessions sessions={o.sessions} onChanged={onChanged} />
          </Section>
          <Section title="Devices" testId="security-devices" wide>
            {o.devices ? <Devices devices={o.devices} onChanged={onChanged} /> : <Unavailable />}
          </Section>
          <Section title="Alerts" testId="security-alerts">
            {o.alerts ? <Alerts alerts={o.alerts} onChanged={onChanged} /> : <Unavailable />}
          </Section>
          <Section title="Password" testId="security-password">
            <ChangePassword onChanged={onChanged} />
          </Section>
          <Section title="Recovery codes" testId="security-recovery">
            {o.recoveryCodes ? <RecoveryCodes status={o.recoveryCodes} onChanged={onChanged} /> : <Unavailable />}
          </Section>
          <Section title="Security keys" testId="security-keys">
            {o.keys ? <SecurityKeys keys={o.keys} canRegister={o.canRegisterKeys} onChanged={onChanged} /> : <Unavailable />}
          </Section>
        </div>
      )}
    </div>
  );
}

function Section({ title, testId, wide, children }: { title: string; testId: string; wide?: boolean; children: ReactNode }) {
  return (
    <section className={wide ? 'security-section wide' : 'security-section'} data-testid={testId} aria-label={title}>
      <h3>{title}</h3>
      {children}
    </section>
  );
}

const Unavailable = () => <p className="muted">This server does not offer this yet.</p>;

/** A held sign-in of mine: approve it only if it is me, at that computer, now. */
export function RequestRow({ request, onChanged }: { request: SignInRequestView; onChanged: () => void }) {
  const action = useAction();
  const decide = (approve: boolean) => void action.run(() => call('decideSignIn', { id: request.id, approve })).then((ok) => ok && onChanged());
  return (
    <div className="request-row" data-testid="sign-in-request">
      <div>
        <strong>{request.deviceName ?? 'An unnamed computer'}</strong>
        {request.platform && <span className="muted"> · {request.platform}</span>}
        <div className="muted">
          {request.ip ? `from ${request.ip}, ` : ''}asked {localDateTime(request.requestedAt)}. Approve only if you are signing in there yourself, now.
        </div>
        {action.error && <p className="form-error" role="alert">{action.error}</p>}
      </div>
      <div className="row-actions">
        <button type="button" onClick={() => decide(false)} disabled={action.busy} data-testid="deny-sign-in">Deny</button>
        <button type="button" className="primary" onClick={() => decide(true)} disabled={action.busy} data-testid="approve-sign-in">Approve</button>
      </div>
    </div>
  );
}

function Alerts({ alerts, onChanged }: { alerts: AlertView[]; onChanged: () => void }) {
  if (alerts.length === 0) return <p className="muted">No alerts.</p>;
  return (
    <ul className="alert-list">
      {alerts.map((a) => <AlertRow key={a.id} alert={a} onChanged={onChanged} />)}
    </ul>
  );
}

export function AlertRow({ alert, onChanged }: { alert: AlertView; onChanged: () => void }) {
  const action = useAction();
  const unread = alert.readAt === null;
  return (
    <li className={unread ? 'alert-row unread' : 'alert-row'} data-testid="security-alert" data-alert-kind={alert.kind} data-unread={unread}>
      <div>
        <strong>{alertText(alert)}</strong>
        <div className="muted">{localDateTime(alert.at)}{alert.ip ? ` · ${alert.ip}` : ''}</div>
        {action.error && <p className="form-error" role="alert">{action.error}</p>}
      </div>
      {unread && (
        <button type="button" disabled={action.busy} title={notYouText} onClick={() => void action.run(() => call('markAlertRead', { id: alert.id })).then((ok) => ok && onChanged())}>
          Mark as read
        </button>
      )}
    </li>
  );
}
