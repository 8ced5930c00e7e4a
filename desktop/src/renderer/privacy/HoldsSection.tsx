import { useState, type FormEvent } from 'react';
import type { ApprovalView, ConsoleHoldTarget, ConsoleLegalHold } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { localDateTime } from '../format';
import { useAction } from '../security/use-action';

/**
 * Legal holds at the depot: what each covers, why and who answers for it. A hold suspends the purge
 * and erasure for what it covers; releasing one is a request a second admin decides. Shown with
 * `legalHold.manage` at the depot.
 */
export function HoldsSection({ locationId, version, onChanged }: { locationId: string; version: number; onChanged: () => void }) {
  const [includeReleased, setIncludeReleased] = useState(false);
  const holds = useQuery(() => call('legalHolds', { locationId, includeReleased }), [locationId, includeReleased, version]);
  const [placing, setPlacing] = useState(false);
  const [pending, setPending] = useState<ApprovalView | null>(null);
  return (
    <section className="gov-section" aria-label="Legal holds" data-testid="holds-section">
      <header>
        <h3>Legal holds</h3>
        <div className="row-actions">
          <label className="check"><input type="checkbox" checked={includeReleased} onChange={(e) => setIncludeReleased(e.target.checked)} /> Show released</label>
          {!placing && <button type="button" onClick={() => setPlacing(true)} data-testid="place-hold">Place a hold</button>}
        </div>
      </header>
      {placing && <HoldForm locationId={locationId} onDone={() => { setPlacing(false); onChanged(); }} onCancel={() => setPlacing(false)} />}
      {pending && <p className="notice" role="status" data-testid="hold-release-pending">Waiting for approval: {pending.title}. The hold stays until a second admin approves.</p>}
      {holds.error && <p className="form-error" role="alert">{holds.error}</p>}
      {!holds.data ? <p className="muted">{holds.loading ? 'Loading…' : ''}</p>
        : holds.data.length === 0 ? <p className="muted" data-testid="no-holds">No legal holds here: the purge and erasures apply everywhere.</p>
          : holds.data.map((h) => <HoldRow key={h.id} locationId={locationId} hold={h} onReleased={(a) => { setPending(a); onChanged(); }} />)}
    </section>
  );
}

function HoldRow({ locationId, hold: h, onReleased }: { locationId: string; hold: ConsoleLegalHold; onReleased: (a: ApprovalView) => void }) {
  const action = useAction();
  const [releasing, setReleasing] = useState(false);
  const [reason, setReason] = useState('');
  function release(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      onReleased(await call('releaseLegalHold', { locationId, holdId: h.id, reason: reason.trim() }));
      setReleasing(false);
    });
  }
  return (
    <div className="gov-row" data-testid="hold-row" data-hold-id={h.id} data-scope={h.scope}>
      <div className="gov-row-head">
        <strong data-testid="hold-covers">{h.covers}</strong>
        <span className={h.releasedAt ? 'gov-status withdrawn' : 'gov-status pending'}>{h.releasedAt ? 'Released' : 'In force'}</span>
      </div>
      <div><span className="muted">Why: </span><span data-testid="hold-reason">{h.reason}</span> <span className="muted">· Owner: </span><span data-testid="hold-owner">{h.owner}</span></div>
      <div className="muted">Placed by {h.placedBy} on {localDateTime(h.placedAt)}{h.releasedAt ? `; released by ${h.releasedBy ?? 'someone'} on ${localDateTime(h.releasedAt)}${h.releaseReason ? `: ${h.releaseReason}` : ''}` : ''}</div>
      {!h.releasedAt && !releasing && <div><button type="button" onClick={() => setReleasing(true)} data-testid="release-hold">Release…</button></div>}
      {releasing && (
        <form className="confirm gov-inline" onSubmit={release} aria-label="Release the hold">
          <label className="grow">Why release it? <span className="hint">a second admin decides</span>
            <input autoFocus required minLength={3} maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="release-reason" />
          </label>
          <button type="button" onClick={() => { setReleasing(false); action.clear(); }}>Cancel</button>
          <button type="submit" disabled={action.busy} data-testid="release-send">Ask for approval</button>
        </form>
      )}
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
    </div>
  );
}

function HoldForm({ locationId, onDone, onCancel }: { locationId: string; onDone: () => void; onCancel: () => void }) {
  const action = useAction();
  const [scope, setScope] = useState<ConsoleHoldTarget['scope']>('customer');
  const [stopId, setStopId] = useState('');
  const [contact, setContact] = useState('');
  const [reason, setReason] = useState('');
  const [owner, setOwner] = useState('');
  function submit(event: FormEvent) {
    event.preventDefault();
    const value = contact.trim();
    const target: ConsoleHoldTarget = scope === 'location' ? { scope } : scope === 'stop' ? { scope, stopId: stopId.trim() }
      : { scope, customer: value.includes('@') ? { email: value } : { phone: value } };
    void action.run(async () => {
      await call('placeLegalHold', { locationId, target, reason: reason.trim(), owner: owner.trim() });
      onDone();
    });
  }
  return (
    <form className="gov-form" onSubmit={submit} aria-label="Place a legal hold" data-testid="hold-form">
      <div className="gov-inline">
        <label>Covers
          <select value={scope} onChange={(e) => setScope(e.target.value as ConsoleHoldTarget['scope'])} data-testid="hold-scope">
            <option value="customer">One customer</option>
            <option value="stop">One stop</option>
            <option value="location">The whole depot</option>
          </select>
        </label>
        {scope === 'customer' && <label className="grow">Their phone or email <input required value={contact} maxLength={254} onChange={(e) => setContact(e.target.value)} data-testid="hold-contact" /></label>}
        {scope === 'stop' && <label className="grow">Stop id <input required value={stopId} maxLength={64} onChange={(e) => setStopId(e.target.value)} data-testid="hold-stop" /></label>}
      </div>
      <div className="gov-inline">
        <label className="grow">Why <input required minLength={3} maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="hold-reason-input" /></label>
        <label className="grow">Owner <span className="hint">who answers for it</span><input required minLength={2} maxLength={200} value={owner} onChange={(e) => setOwner(e.target.value)} data-testid="hold-owner-input" /></label>
      </div>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" className="primary" disabled={action.busy} data-testid="hold-save">Place hold</button>
      </div>
    </form>
  );
}
