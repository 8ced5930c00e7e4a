import { useEffect, useRef, useState, type FormEvent } from 'react';
import { failureReasons, failureReasonText, type FailureReason } from '@depotline/shared';
import { call } from '../bridge';
import { useAction } from '../security/use-action';
import './planning.css';

/**
 * Marking a stop failed asks why: a reason from the fixed list (the server refuses a failure
 * without one) and a note in the user's words. Both sync with the status and show on the stop
 * for the whole team. What the user typed stays if the change is refused.
 */
export function FailureReasonDialog({ stopId, label, onClose, onDone }: { stopId: string; label: string; onClose: () => void; onDone: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  const [reason, setReason] = useState<FailureReason | ''>('');
  const [note, setNote] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const action = useAction();

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!reason) return setProblem('Choose why the delivery failed.');
    if (reason === 'other' && note.trim().length === 0) return setProblem('Say what happened: “Other” needs a note.');
    setProblem(null);
    void action.run(async () => {
      await call('setStopStatus', { stopId, to: 'failed', failureReason: reason, ...(note.trim() ? { reason: note.trim() } : {}) });
      onDone();
    });
  }

  return (
    <dialog ref={dialog} className="plan-dialog" aria-labelledby="failure-title" data-testid="failure-dialog" onCancel={(e) => { e.preventDefault(); onClose(); }}>
      <h2 id="failure-title">Why did the delivery fail?</h2>
      <p className="muted">{label}</p>
      <form className="form" onSubmit={submit}>
        <fieldset className="reason-list">
          <legend className="visually-hidden">Reason</legend>
          {failureReasons.map((r) => (
            <label key={r} className="check">
              <input type="radio" name="failure-reason" value={r} checked={reason === r} onChange={() => { setReason(r); setProblem(null); }} data-testid={`failure-reason-${r}`} />
              {failureReasonText[r]}
            </label>
          ))}
        </fieldset>
        <label>
          Note for the team
          <textarea value={note} maxLength={500} rows={3} onChange={(e) => setNote(e.target.value)} data-testid="failure-note" placeholder="What happened, what to try next time" />
        </label>
        {(problem ?? action.error) && <p className="form-error" role="alert" data-testid="failure-error">{problem ?? action.error}</p>}
        <div className="actions">
          <button type="button" onClick={onClose}>Keep the status</button>
          <button type="submit" className="danger" disabled={action.busy} data-testid="failure-submit">Mark failed</button>
        </div>
      </form>
    </dialog>
  );
}

/** Why a delivery failed, on the stop detail for the whole team (the note only for viewers of notes). */
export function FailureFact({ reason, note }: { reason: FailureReason; note: string | null | undefined }) {
  return (
    <>
      <dt>Failed</dt>
      <dd className="detail-failure" data-testid="detail-failure" data-reason={reason}>
        <strong>{failureReasonText[reason]}</strong>
        {note ? <span data-testid="detail-failure-note"> · {note}</span> : null}
      </dd>
    </>
  );
}
