import { useState, type FormEvent } from 'react';
import {
  privacyCloseReasons, type ConsolePrivacyOutcome, type ConsolePrivacyRequestView, type CustomerIdentity, type PrivacyCloseReason, type SavedFileResult,
} from '@depotline/shared';
import { call } from '../bridge';
import { localDateTime } from '../format';
import { depotText } from '../governance/ApprovalCard';
import { useAction } from '../security/use-action';
import { HoldsKept } from './HoldsKept';
import { RectifyForm } from './RectifyForm';
import { closeReasonLabel, kindLabel, stepLabel } from './privacy-text';

/**
 * One request, below the register: who it is about, what was done so far (counts only), and what
 * its kind allows: the access export, the erasure (after a confirmation that says what it does),
 * the correction; and closing it.
 */
export function RequestDetail({ locationId, request: r, onChanged, onOutcome, onFind }: {
  locationId: string; request: ConsolePrivacyRequestView; onChanged: () => void; onOutcome: (o: ConsolePrivacyOutcome) => void;
  /** Shows the customer's stops in the search below. */
  onFind: (customer: CustomerIdentity) => void;
}) {
  const identity = r.subject && (r.subject.phone || r.subject.email)
    ? { ...(r.subject.phone ? { phone: r.subject.phone } : {}), ...(r.subject.email ? { email: r.subject.email } : {}) } : null;
  const at = { locationId, requestId: r.id };
  const open = r.status === 'open' && r.editable;
  return (
    <section className="gov-section" aria-label={`${kindLabel[r.kind]} request`} data-testid="privacy-request-detail" data-request-id={r.id}>
      <header><h3>{kindLabel[r.kind]} · {r.law.toUpperCase()}</h3></header>
      <dl className="facts privacy-facts">
        <dt>Customer</dt>
        <dd data-testid="request-subject">
          {r.subject ? [r.subject.customerName, r.subject.phone, r.subject.email].filter(Boolean).join(' · ')
            : <span className="muted">Erased on {r.subjectErasedAt ? localDateTime(r.subjectErasedAt) : 'erasure'}: the request keeps none of the customer&rsquo;s data.</span>}
        </dd>
        <dt>Depots</dt><dd>{r.locations.map(depotText).join(', ')}</dd>
        <dt>Received</dt><dd>{localDateTime(r.receivedAt)} by {r.createdBy}</dd>
        <dt>Deadline</dt><dd className={r.overdue ? 'due overdue' : undefined}>{localDateTime(r.dueAt)}{r.overdue ? ' (overdue)' : ''}</dd>
        {r.closedAt && <><dt>Closed</dt><dd>{localDateTime(r.closedAt)}{r.closeReason ? `: ${closeReasonLabel[r.closeReason]}` : ''}</dd></>}
      </dl>
      {r.steps.length > 0 && (
        <ol className="privacy-steps" aria-label="What was done" data-testid="request-steps">
          {r.steps.map((s, i) => (
            <li key={`${s.action}-${s.at}-${i}`}>
              <strong>{stepLabel[s.action]}</strong> {localDateTime(s.at)} by {s.by}{s.counts ? `: ${s.counts}` : ''}
              {s.holds.length > 0 && <HoldsKept holds={s.holds} />}
            </li>
          ))}
        </ol>
      )}
      {identity && <button type="button" className="link-button" onClick={() => onFind(identity)} data-testid="find-their-stops">Find their stops</button>}
      {!r.editable && <p className="muted">This request also covers depots where you do not handle privacy requests: an admin there acts on it.</p>}
      {open && r.kind === 'access' && <AccessExport at={at} onChanged={onChanged} />}
      {open && r.kind === 'erasure' && r.subject && <Erase at={at} onDone={(o) => { onOutcome(o); onChanged(); }} />}
      {open && r.kind === 'rectification' && r.subject && <RectifyForm at={at} onDone={(o) => { onOutcome(o); onChanged(); }} />}
      {open && <Close at={at} onChanged={onChanged} />}
    </section>
  );
}

type At = { locationId: string; requestId: string };

function AccessExport({ at, onChanged }: { at: At; onChanged: () => void }) {
  const action = useAction();
  const [saved, setSaved] = useState<Extract<SavedFileResult, { outcome: 'saved' }> | null>(null);
  const run = () => void action.run(async () => {
    const result = await call('exportPrivacyAccess', at);
    if (result.outcome === 'saved') {
      setSaved(result);
      onChanged();
    }
  });
  return (
    <div className="privacy-action">
      <p className="muted">The export holds every stop of the customer (JSON and CSV) and their proof-of-delivery files, as one ZIP file. Send it to them by a safe channel.</p>
      <button type="button" onClick={run} disabled={action.busy} data-testid="privacy-export">Export their data…</button>
      {saved && (
        <p className="notice" role="status" data-testid="privacy-export-saved">
          Saved to <span className="mono">{saved.path}</span>{saved.stops !== null ? ` (${saved.stops} stops, ${saved.proofs ?? 0} proof files)` : ''}.
        </p>
      )}
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
    </div>
  );
}

function Erase({ at, onDone }: { at: At; onDone: (o: ConsolePrivacyOutcome) => void }) {
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const [mode, setMode] = useState<'pseudonymise' | 'delete'>('pseudonymise');
  function erase(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      onDone(await call('erasePrivacyRequest', { ...at, confirm: true, mode }));
      setConfirming(false);
    });
  }
  if (!confirming) {
    return <div className="privacy-action"><button type="button" className="danger" onClick={() => setConfirming(true)} data-testid="privacy-erase">Erase the customer…</button></div>;
  }
  return (
    <form className="confirm gov-form" onSubmit={erase} aria-label="Confirm the erasure" data-testid="erase-confirm">
      <p>
        This removes the customer&rsquo;s name, address, phone, email and notes from every one of their stops here, on the server and, as they sync,
        on every console; their proof files become unreadable, tracking links and undelivered webhook messages go. It cannot be undone.
        Stops under a legal hold are kept, and you will be told which hold kept them.
      </p>
      <label className="check"><input type="radio" name="erase-mode" checked={mode === 'pseudonymise'} onChange={() => setMode('pseudonymise')} /> Keep the delivery facts (status, times, order reference) without the customer</label>
      <label className="check"><input type="radio" name="erase-mode" checked={mode === 'delete'} onChange={() => setMode('delete')} data-testid="erase-delete" /> Delete the stops altogether</label>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={() => { setConfirming(false); action.clear(); }}>Cancel</button>
        <button type="submit" className="danger" disabled={action.busy} data-testid="erase-now">Erase now</button>
      </div>
    </form>
  );
}

function Close({ at, onChanged }: { at: At; onChanged: () => void }) {
  const action = useAction();
  const [reason, setReason] = useState<PrivacyCloseReason>('completed');
  function close(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      await call('closePrivacyRequest', { ...at, reason });
      onChanged();
    });
  }
  return (
    <form className="gov-inline privacy-action" onSubmit={close} aria-label="Close the request">
      <label>Close as
        <select value={reason} onChange={(e) => setReason(e.target.value as PrivacyCloseReason)} data-testid="close-reason">
          {privacyCloseReasons.map((c) => <option key={c} value={c}>{closeReasonLabel[c]}</option>)}
        </select>
      </label>
      <button type="submit" disabled={action.busy} data-testid="close-request">Close request</button>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
    </form>
  );
}
