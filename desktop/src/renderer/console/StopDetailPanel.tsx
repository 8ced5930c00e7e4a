import { useEffect, useState } from 'react';
import { type EncryptedStopField, missingForDelivery, type StopDetailView, type StopStatus } from '@depotline/shared';
import { call, messageOf } from '../bridge';
import { dateTimeAt, transitionLabel, windowText, timeAt } from '../format';
import { StatusBadge } from '../ui/StatusBadge';
import { FailureFact, FailureReasonDialog } from '../planning/FailureReasonDialog';
import { useQuery } from './hooks';
import { TrackingLinksPanel } from './TrackingLinksPanel';
import { ProofPanel } from './ProofPanel';

/** A withheld field's stored value did not decrypt on the server (altered in its database); the depot's admins were alerted. */
const withheldLabel: Readonly<Record<EncryptedStopField, string>> = {
  customerName: 'Customer name', address: 'Address', coordinates: 'Coordinates', phone: 'Phone', email: 'Email', notes: 'Notes',
  failureNote: 'Failure note', paymentRef: 'Payment reference',
};

export function StopDetailPanel({ stopId, timeZone, dataVersion, onClose }: { stopId: string; timeZone: string; dataVersion: number; onClose: () => void }) {
  const fetched = useQuery(() => call('stopDetail', { stopId }), [stopId, dataVersion]);
  const [detail, setDetail] = useState<StopDetailView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Failing a delivery asks why first (a reason from the fixed list, and a note). */
  const [failing, setFailing] = useState(false);
  useEffect(() => {
    if (fetched.data) setDetail(fetched.data);
  }, [fetched.data]);

  if (!detail) return <p className="empty-state">{fetched.error ?? 'Loading…'}</p>;
  const { stop } = detail;

  async function setStatus(to: StopStatus) {
    setBusy(true);
    setError(null);
    try {
      setDetail(await call('setStopStatus', { stopId, to }));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="stop-detail" data-testid="stop-detail" data-stop-id={stop.id}>
      <div className="detail-head">
        <div>
          <div className="muted">{detail.routeName ?? 'Route'} · stop {stop.sequence + 1}</div>
          <h2 data-testid="detail-customer">{stop.customerName ?? (detail.pseudonymised ? 'Customer details erased' : stop.withheld?.includes('customerName') ? 'Customer withheld' : 'Customer hidden')}</h2>
          {detail.pseudonymised && (
            <p className="muted erased-note" data-testid="detail-erased">Removed under the depot&rsquo;s retention period or a privacy request; the delivery record stays.</p>
          )}
          {detail.held && <span className="hold-badge" data-testid="detail-held" title="Nothing of this stop is purged or erased while the hold lasts">Legal hold</span>}
        </div>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>×</button>
      </div>
      <dl className="facts">
        {stop.withheld && (
          <><dt>Withheld</dt><dd className="withheld" data-testid="withheld">{stop.withheld.map((f) => withheldLabel[f]).join(', ')}: could not be verified</dd></>
        )}
        {stop.address !== undefined && (<><dt>Address</dt><dd>{stop.address}</dd></>)}
        {detail.phone !== undefined && !detail.pseudonymised && <PhoneFact key={stop.id} stopId={stop.id} state={detail.phone} />}
        <dt>Window</dt><dd>{windowText(stop.window, timeZone)}</dd>
        <dt>ETA</dt><dd>{stop.eta ? timeAt(stop.eta, timeZone) : '—'}</dd>
        <dt>Driver</dt><dd>{detail.driverName ?? '—'}</dd>
        <dt>Status</dt>
        <dd data-testid="detail-status" data-status={stop.status}>
          <StatusBadge status={stop.status} />
          {detail.pendingEdits > 0 && <span className="pending-note" data-testid="detail-pending">waiting to sync</span>}
        </dd>
        {stop.failureReason && <FailureFact reason={stop.failureReason} note={stop.failureNote} />}
        {stop.orderRef !== null && (<><dt>Order</dt><dd data-testid="detail-order-ref">{stop.orderRef}</dd></>)}
        <dt>Parcels</dt><dd>{stop.parcelCount}{stop.barcodes.length > 0 ? ` (${stop.barcodes.join(', ')})` : ''}</dd>
        {(stop.minimumAge !== null || stop.idCheck || stop.pinRequired === true) && (
          <><dt>Checks</dt><dd data-testid="detail-checks">{[stop.minimumAge !== null ? `age ${stop.minimumAge}+` : null, stop.idCheck ? 'ID' : null, stop.pinRequired === true ? 'delivery PIN' : null].filter(Boolean).join(', ')}</dd></>
        )}
        <MissingForDelivery stop={stop} />
        {detail.billing && <BillingFacts billing={detail.billing} />}
      </dl>
      {detail.allowedTransitions.length > 0 && (
        <div className="transitions" role="group" aria-label="Change status">
          {detail.allowedTransitions.map((to) => (
            <button key={to} type="button" className={`transition to-${to}`} disabled={busy} onClick={() => (to === 'failed' ? setFailing(true) : void setStatus(to))} data-testid={`transition-${to}`}>
              {transitionLabel[to]}
            </button>
          ))}
        </div>
      )}
      {error && <p className="form-error" role="alert">{error}</p>}
      {failing && (
        <FailureReasonDialog
          stopId={stop.id} label={`${detail.routeName ?? 'Route'} · stop ${stop.sequence + 1}${stop.customerName ? ` · ${stop.customerName}` : ''}`}
          onClose={() => setFailing(false)} onDone={() => { setFailing(false); void call('stopDetail', { stopId }).then(setDetail, () => undefined); }}
        />
      )}
      {detail.notesVisible && <NotesEditor key={stop.id} detail={detail} onSaved={setDetail} />}
      <TrackingLinksPanel key={`tracking-${stop.id}`} stopId={stop.id} timeZone={timeZone} dataVersion={dataVersion} />
      <ProofPanel key={`proofs-${stop.id}`} stopId={stop.id} timeZone={timeZone} dataVersion={dataVersion} />
      <p className="last-change" data-testid="last-change">
        Last changed {stop.updatedBy ? <>by <strong>{stop.updatedBy}</strong> </> : ''}{dateTimeAt(stop.updatedAt, timeZone)}
      </p>
    </div>
  );
}

/**
 * The phone number stays masked until the user asks for it: revealing it is recorded in the
 * depot's audit log (queued like an edit when offline), and the number shows in this panel only.
 */
function PhoneFact({ stopId, state }: { stopId: string; state: 'masked' | 'none' }) {
  const [revealed, setRevealed] = useState<{ phone: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function reveal() {
    setBusy(true);
    setError(null);
    try {
      setRevealed(await call('revealStopPhone', { stopId }));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <dt>Phone</dt>
      <dd data-testid="phone" data-state={revealed ? 'revealed' : state}>
        {state === 'none' ? '—' : revealed ? (
          <span data-testid="phone-number">{revealed.phone ?? '—'}</span>
        ) : (
          <>
            <span className="phone-masked" data-testid="phone-masked" aria-label="Phone number hidden">••• ••• ••••</span>
            <button
              type="button" className="reveal" disabled={busy} onClick={() => void reveal()} data-testid="phone-reveal"
              title="Revealing a phone number is recorded in the depot's audit log"
            >
              Reveal
            </button>
          </>
        )}
        {error && <p className="form-error" role="alert">{error}</p>}
      </dd>
    </>
  );
}

function NotesEditor({ detail, onSaved }: { detail: StopDetailView; onSaved: (d: StopDetailView) => void }) {
  const saved = detail.stop.notes ?? '';
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const value = draft ?? saved;

  async function save() {
    if (draft === null) return;
    setBusy(true);
    setError(null);
    try {
      onSaved(await call('editStopNotes', { stopId: detail.stop.id, notes: draft }));
      setDraft(null);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="notes" data-testid="notes">
      <h3>Delivery notes</h3>
      {detail.canEditNotes ? (
        <>
          <textarea value={value} maxLength={2000} rows={4} onChange={(e) => setDraft(e.target.value)} aria-label="Delivery notes" data-testid="notes-input" />
          <div className="actions">
            {draft !== null && <button type="button" onClick={() => setDraft(null)}>Discard</button>}
            <button type="button" className="primary" disabled={busy || draft === null || draft === saved} onClick={() => void save()} data-testid="notes-save">Save notes</button>
          </div>
        </>
      ) : (
        <p className="notes-text">{saved || <span className="muted">No notes.</span>}</p>
      )}
      {error && <p className="form-error" role="alert">{error}</p>}
    </section>
  );
}

/** An amount in minor units of an ISO currency, as the user's locale writes it (1250 EUR: €12.50). */
function money(minor: number | null, currency: string | null): string {
  if (minor === null) return '—';
  if (currency === null) return String(minor);
  try {
    const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    return format.format(minor / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${minor} ${currency} (minor units)`;
  }
}

/**
 * What the stop still needs at the door before it can be delivered (the PIN, a passing age or ID
 * check), the same list the server refuses `delivered` with. Shown while the stop is open.
 */
function MissingForDelivery({ stop }: { stop: StopDetailView['stop'] }) {
  if (stop.status === 'delivered' || stop.status === 'cancelled') return null;
  const missing = missingForDelivery(stop);
  const done = [stop.handover?.pinVerified ? 'PIN verified' : null, stop.handover?.checkPassed ? 'check passed' : null].filter(Boolean);
  if (missing.length === 0 && done.length === 0) return null;
  return (
    <>
      <dt>At the door</dt>
      <dd data-testid="detail-door">
        {done.length > 0 && <span data-testid="detail-door-done">{done.join(', ')}</span>}
        {missing.length > 0 && (
          <ul className="door-missing" aria-label="Missing before delivery" data-testid="detail-door-missing">
            {missing.map((m) => <li key={m}>{m}</li>)}
          </ul>
        )}
      </dd>
    </>
  );
}

/** Billing, for holders of stop.readBilling only (the view carries it to no one else). */
function BillingFacts({ billing }: { billing: NonNullable<StopDetailView['billing']> }) {
  return (
    <>
      <dt>Payment ref</dt><dd data-testid="detail-payment-ref">{billing.paymentRef ?? '—'}</dd>
      <dt>To collect</dt><dd data-testid="detail-cod">{money(billing.codAmount, billing.currency)}</dd>
      <dt>Delivery fee</dt><dd data-testid="detail-fee">{money(billing.deliveryFee, billing.currency)}</dd>
    </>
  );
}
