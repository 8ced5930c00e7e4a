import { useEffect, useState } from 'react';
import { call } from '../bridge';
import { AlertRow, RequestRow } from '../security/SecurityView';
import { useQuery } from './hooks';

/** How often the console asks for new alerts and held sign-ins: there is no push for them. */
const refreshMs = 15_000;
const shownAlerts = 3;

/**
 * Unread security alerts, each until the user marks it read, and sign-ins of this account
 * waiting for approval from this computer. Asked of the server while the console is shown
 * (the component unmounts when it locks, and the asking stops).
 */
export function SecurityNotices({ version, onChanged, onOpenSecurity, showRequests }: {
  version: number;
  onChanged: () => void;
  onOpenSecurity: () => void;
  showRequests: boolean;
}) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), refreshMs);
    return () => clearInterval(t);
  }, []);
  const notices = useQuery(() => call('securityNotices'), [version, tick]);
  const alerts = notices.data?.alerts ?? [];
  const requests = showRequests ? notices.data?.signInRequests ?? [] : [];
  if (alerts.length === 0 && requests.length === 0) return null;
  return (
    <section className="notices" aria-label="Security notices" data-testid="security-notices">
      {requests.map((r) => (
        <div key={r.id} className="notice-item notice-request" role="alert">
          <div className="notice-grow">
            <strong>A sign-in to your account waits for approval</strong>
            <RequestRow request={r} onChanged={onChanged} />
          </div>
        </div>
      ))}
      {alerts.length > 0 && (
        <div className="notice-item notice-alert" role="alert" data-testid="alert-notice">
          <div className="notice-grow">
            <strong>Security alert{alerts.length === 1 ? '' : 's'}</strong> <span className="muted">· each stays here until you mark it read</span>
            <ul className="alert-list">
              {alerts.slice(0, shownAlerts).map((a) => <AlertRow key={a.id} alert={a} onChanged={onChanged} />)}
            </ul>
            {alerts.length > shownAlerts && <div className="muted">and {alerts.length - shownAlerts} more</div>}
          </div>
          <button type="button" onClick={onOpenSecurity}>Review on Security</button>
        </div>
      )}
    </section>
  );
}
