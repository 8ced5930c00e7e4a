import type { AccessHolderView, LocationView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { localDateTime } from '../format';
import { depotText } from './ApprovalCard';

/**
 * "Who holds what" at the depot: every user with access there, the grants it comes from (a role
 * template or a group, where, until when), and what they may do once denials are applied.
 */
export function AccessList({ location, version }: { location: LocationView; version: number }) {
  const holders = useQuery(() => call('locationAccess', { locationId: location.id }), [location.id, version]);
  return (
    <section className="gov-section" aria-label={`Who holds what at ${location.name}`} data-testid="access-list">
      <header><h3>Who holds what at {location.name}</h3></header>
      {holders.error && <p className="form-error" role="alert">{holders.error}</p>}
      {!holders.data ? <p className="muted">{holders.loading ? 'Loading…' : ''}</p>
        : holders.data.length === 0 ? <p className="muted">Nobody has access here.</p>
          : (
            <table className="table">
              <thead><tr><th scope="col">User</th><th scope="col">Access from</th><th scope="col">May</th><th scope="col">Denied</th></tr></thead>
              <tbody>{holders.data.map((h) => <HolderRow key={h.username} holder={h} />)}</tbody>
            </table>
          )}
    </section>
  );
}

function HolderRow({ holder: h }: { holder: AccessHolderView }) {
  return (
    <tr data-testid="access-holder" data-username={h.username}>
      <td>
        <strong>{h.displayName}</strong>
        <div className="muted">{h.username}{h.mfaRequired ? ' · second factor required' : ''}</div>
      </td>
      <td>
        {h.grants.map((g, i) => (
          <div key={i}>
            {g.role ? `role ${g.role}` : `group ${g.groupName ?? '?'}`}
            <span className="muted"> at {g.locations.map(depotText).join(', ')}{g.expiresAt ? `, until ${localDateTime(g.expiresAt)}` : ''}</span>
          </div>
        ))}
      </td>
      <td>
        <div className="gov-chips" data-testid="holder-permissions">{h.permissions.map((p) => <span key={p} className="gov-chip">{p}</span>)}</div>
        {h.assignedPermissions.length > 0 && <div className="muted">On routes assigned to them: {h.assignedPermissions.join(', ')}</div>}
      </td>
      <td>
        <div className="gov-chips" data-testid="holder-denials">{h.denials.map((p) => <span key={p} className="gov-chip deny">{p}</span>)}</div>
      </td>
    </tr>
  );
}
