import { useState } from 'react';
import type { TrackingLinkInfo } from '@depotline/shared';
import { call, messageOf } from '../bridge';
import { dateTimeAt } from '../format';
import { useQuery } from './hooks';

const stateLabel: Readonly<Record<TrackingLinkInfo['state'], string>> = { active: 'Active', expired: 'Expired', revoked: 'Revoked' };

/**
 * The stop's customer tracking links, for those who hold `tracking.manage` at its depot (nothing
 * is shown to others): make one (its address is shown here once, to copy to the customer; the
 * server keeps only a hash) and revoke one at once (a link sent to the wrong person).
 */
export function TrackingLinksPanel({ stopId, timeZone, dataVersion }: { stopId: string; timeZone: string; dataVersion: number }) {
  const [version, setVersion] = useState(0);
  const fetched = useQuery(() => call('stopTrackingLinks', { stopId }), [stopId, dataVersion, version]);
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!fetched.data?.canManage) return null;

  async function act(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      setVersion((v) => v + 1);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="tracking-links" data-testid="tracking-links" aria-labelledby="tracking-links-title">
      <h3 id="tracking-links-title">Customer tracking link</h3>
      {fetched.data.links.length === 0 && <p className="muted">No link yet.</p>}
      <ul>
        {fetched.data.links.map((l) => (
          <li key={l.id} data-testid="tracking-link" data-state={l.state}>
            <span>{stateLabel[l.state]}</span>
            {' · '}{l.origin === 'auto' ? 'made at dispatch' : `made by ${l.createdBy ?? 'a dispatcher'}`}
            {' · '}{l.state === 'revoked' ? `revoked ${l.revokedAt ? dateTimeAt(l.revokedAt, timeZone) : ''}` : `ends ${dateTimeAt(l.expiresAt, timeZone)}`}
            {l.state === 'active' && (
              <button type="button" disabled={busy} data-testid="tracking-link-revoke" onClick={() => void act(() => call('revokeTrackingLink', { linkId: l.id }))}>
                Revoke
              </button>
            )}
          </li>
        ))}
      </ul>
      {created && (
        <p data-testid="tracking-link-url">
          Send this address to the customer; it is shown only now: <input readOnly value={created} aria-label="Tracking link address" onFocus={(e) => e.target.select()} />
        </p>
      )}
      <button
        type="button" disabled={busy} data-testid="tracking-link-create"
        onClick={() => void act(async () => setCreated((await call('createTrackingLink', { stopId })).url))}
      >
        New tracking link
      </button>
      {error && <p className="form-error" role="alert">{error}</p>}
    </section>
  );
}
