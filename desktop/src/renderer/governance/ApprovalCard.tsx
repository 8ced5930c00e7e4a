import { useRef, useState } from 'react';
import type { ApprovalStatus, ApprovalView, DepotRef } from '@depotline/shared';
import { call } from '../bridge';
import { localDateTime } from '../format';
import { useAction } from '../security/use-action';
import { ExportSaved } from './ExportSaved';

export const statusText: Readonly<Record<ApprovalStatus, string>> = {
  pending: 'Waiting for a second person',
  approved: 'Approved',
  denied: 'Denied',
  withdrawn: 'Withdrawn',
  expired: 'Expired',
  stale: 'No longer applies',
};

export const depotText = (d: DepotRef) => d.name ?? `another depot (${d.id})`;

/**
 * One approval request, everything an approver must read before deciding: who asked, why, what
 * exactly will change, where, what it hands out, until when. The actions shown depend on whose
 * it is: the approver's Approve / Deny, the requester's Withdraw or (an approved export)
 * Download.
 */
export function ApprovalCard({ approval, onChanged }: { approval: ApprovalView; onChanged: () => void }) {
  const a = approval;
  // Kept here, not in the button: once downloaded the button goes, and where the file went stays.
  const [saved, setSaved] = useState<{ path: string; rows: number | null } | null>(null);
  return (
    <article className="gov-row" data-testid="approval" data-approval-id={a.id} data-status={a.status} aria-label={`${a.title}, asked by ${a.requestedBy}`}>
      <div className="gov-row-head">
        <strong>{a.title}</strong>
        <span className={`gov-status ${a.status}`} data-testid="approval-status">{statusText[a.status]}</span>
      </div>
      <p>{a.summary}</p>
      <div className="muted">
        Asked by <strong>{a.requestedBy}</strong> on {localDateTime(a.requestedAt)}
        {a.status === 'pending' ? `; expires ${localDateTime(a.expiresAt)}` : ''}.
      </div>
      <div><span className="muted">Why: </span><span data-testid="approval-reason">{a.reason}</span></div>
      <details className="detail-box" open={a.mayDecide}>
        <summary>The exact change</summary>
        <dl className="change-list" data-testid="approval-change">
          {a.change.map((line) => [<dt key={`${line.field}-t`}>{line.field}</dt>, <dd key={`${line.field}-d`}>{line.value}</dd>])}
        </dl>
        <div className="muted">Depots it touches: {a.locations.map(depotText).join(', ') || 'none'}</div>
        {a.handsOut.length > 0 && <div className="muted">Permissions it hands out: {a.handsOut.join(', ')}</div>}
      </details>
      {a.decidedBy && (
        <div className="muted" data-testid="approval-decision">
          {statusText[a.status]} by {a.decidedBy}{a.decidedAt ? ` on ${localDateTime(a.decidedAt)}` : ''}{a.decisionNote ? `: \u201c${a.decisionNote}\u201d` : '.'}
        </div>
      )}
      {a.staleReason && <div className="form-error">Not applied: {a.staleReason}</div>}
      {a.usedAt !== null && <div className="muted">Downloaded on {localDateTime(a.usedAt)}.</div>}
      {a.mayDecide && <Decide approval={a} onChanged={onChanged} />}
      {a.mine && a.status === 'pending' && <Withdraw approval={a} onChanged={onChanged} />}
      {saved && <ExportSaved path={saved.path} rows={saved.rows} />}
      {a.canDownload && <DownloadApproved approval={a} onSaved={(file) => { setSaved(file); onChanged(); }} />}
    </article>
  );
}

function Decide({ approval, onChanged }: { approval: ApprovalView; onChanged: () => void }) {
  const action = useAction();
  const [note, setNote] = useState('');
  const [missingNote, setMissingNote] = useState(false);
  const noteField = useRef<HTMLTextAreaElement>(null);
  const decide = (approve: boolean) => {
    const text = note.trim();
    if (!approve && text.length < 3) {
      setMissingNote(true);
      noteField.current?.focus();
      return;
    }
    setMissingNote(false);
    void action.run(() => call('decideApproval', { id: approval.id, approve, ...(text ? { note: text } : {}) })).then((ok) => ok && onChanged());
  };
  return (
    <div className="gov-form">
      <label>
        Note for {approval.requestedBy} <span className="hint">required to deny, optional to approve</span>
        <textarea ref={noteField} rows={2} maxLength={1000} value={note} onChange={(e) => setNote(e.target.value)} aria-invalid={missingNote} data-testid="approval-note" />
      </label>
      {missingNote && <p className="form-error" role="alert">Say why you deny it: {approval.requestedBy} reads the note.</p>}
      {action.error && <p className="form-error" role="alert" data-testid="approval-error">{action.error}</p>}
      <div className="row-actions">
        <button type="button" onClick={() => decide(false)} disabled={action.busy} data-testid="deny-approval">Deny</button>
        <button type="button" className="primary" onClick={() => decide(true)} disabled={action.busy} data-testid="approve-approval">Approve</button>
      </div>
    </div>
  );
}

function Withdraw({ approval, onChanged }: { approval: ApprovalView; onChanged: () => void }) {
  const action = useAction();
  return (
    <div>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      <button type="button" onClick={() => void action.run(() => call('withdrawApproval', { id: approval.id })).then((ok) => ok && onChanged())} disabled={action.busy} data-testid="withdraw-approval">
        Withdraw request
      </button>
    </div>
  );
}

function DownloadApproved({ approval, onSaved }: { approval: ApprovalView; onSaved: (file: { path: string; rows: number | null }) => void }) {
  const action = useAction();
  const [cancelled, setCancelled] = useState(false);
  const download = () => void action.run(async () => {
    const result = await call('downloadApprovedExport', { id: approval.id });
    setCancelled(result.outcome === 'cancelled');
    if (result.outcome === 'saved') onSaved(result);
  });
  return (
    <div>
      {cancelled && <p className="muted" role="status">Nothing was saved: the save dialog was closed. The download is still available.</p>}
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      <button type="button" className="primary" onClick={download} disabled={action.busy} data-testid="download-approved-export">Download the export</button>
      <span className="muted"> It can be downloaded once, until {localDateTime(approval.expiresAt)}.</span>
    </div>
  );
}
