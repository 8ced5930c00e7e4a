import type { LocationView, UserSignInRequestView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { localDateTime } from '../format';
import { userAlertText } from './alert-text';
import { useAction } from './use-action';

export interface DepotSecurityProps {
  /** The depot chosen in the header; the caller shows this only where the user holds `security.read`. */
  location: LocationView;
  version: number;
  onChanged: () => void;
}

/**
 * The admin part of the Security screen: the depot's users' sign-in alerts and held sign-ins.
 * Approve and Deny appear only with `session.revokeAny` here; the server may still refuse when
 * the user also works at a depot the admin has no such right at, and the row says so.
 */
export function DepotSecurity({ location, version, onChanged }: DepotSecurityProps) {
  const canDecide = location.permissions.includes('session.revokeAny');
  const data = useQuery(() => call('locationSecurity', { locationId: location.id }), [location.id, version]);
  const d = data.data;
  return (
    <>
      <section className="security-section wide" data-testid="depot-requests" aria-label={`Sign-ins waiting for approval at ${location.name}`}>
        <h3>Sign-ins waiting for approval at {location.name}</h3>
        {data.error && <p className="form-error" role="alert">{data.error}</p>}
        {!d ? <p className="muted">{data.loading ? 'Loading…' : ''}</p>
          : d.signInRequests.length === 0 ? <p className="muted">None waiting.</p>
            : d.signInRequests.map((r) => <UserRequestRow key={r.id} request={r} locationId={location.id} canDecide={canDecide} onChanged={onChanged} />)}
      </section>
      <section className="security-section wide" data-testid="depot-alerts" aria-label={`Sign-in alerts at ${location.name}`}>
        <h3>Sign-in alerts at {location.name}</h3>
        {!d ? <p className="muted">{data.loading ? 'Loading…' : ''}</p>
          : d.alerts.length === 0 ? <p className="muted">No alerts.</p> : (
            <ul className="alert-list">
              {/* Alerts carry no id across the bridge (an admin cannot act on them): position is the key. */}
              {d.alerts.map((a, i) => (
                <li key={i} className="alert-row" data-testid="depot-alert" data-alert-kind={a.kind}>
                  <div>
                    <strong>{a.username}</strong>: {userAlertText(a)}
                    <div className="muted">{localDateTime(a.at)}{a.ip ? ` · ${a.ip}` : ''}{a.readAt === null ? ' · not yet seen by them' : ''}</div>
                  </div>
                </li>
              ))}
            </ul>
          )}
      </section>
    </>
  );
}

function UserRequestRow({ request, locationId, canDecide, onChanged }: {
  request: UserSignInRequestView; locationId: string; canDecide: boolean; onChanged: () => void;
}) {
  const action = useAction();
  const decide = (approve: boolean) =>
    void action.run(() => call('decideUserSignIn', { locationId, id: request.id, approve })).then((ok) => ok && onChanged());
  return (
    <div className="request-row" data-testid="depot-sign-in-request">
      <div>
        <strong>{request.username}</strong> on {request.deviceName ?? 'an unnamed computer'}
        {request.platform && <span className="muted"> · {request.platform}</span>}
        <div className="muted">
          {request.ip ? `from ${request.ip}, ` : ''}asked {localDateTime(request.requestedAt)}, waits until {localDateTime(request.expiresAt)}.
          {canDecide ? ' Approve only after checking with them that it is them, now.' : ''}
        </div>
        {action.error && <p className="form-error" role="alert" data-testid="depot-decision-error">{action.error}</p>}
      </div>
      {canDecide && (
        <div className="row-actions">
          <button type="button" onClick={() => decide(false)} disabled={action.busy} data-testid="deny-user-sign-in">Deny</button>
          <button type="button" className="primary" onClick={() => decide(true)} disabled={action.busy} data-testid="approve-user-sign-in">Approve</button>
        </div>
      )}
    </div>
  );
}
