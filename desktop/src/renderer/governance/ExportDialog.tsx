import { useEffect, useRef, useState, type FormEvent } from 'react';
import { exportRangeDays, type ExportDataClass, type ExportFormat, type ExportResult, type LocationView } from '@depotline/shared';
import { call } from '../bridge';
import { useDebounced, useQuery } from '../console/hooks';
import { useAction } from '../security/use-action';
import { ApprovalCard } from './ApprovalCard';
import { ExportSaved } from './ExportSaved';
import './governance.css';

/** `YYYY-MM-DD` of a day in this computer's time zone. */
function isoDay(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

const classText: Readonly<Record<ExportDataClass, string>> = {
  operational: 'Operational: routes, drivers, vehicles, stop order, status and times, order references, parcels, failure reasons',
  customer: 'Customer contact: names, addresses, coordinates, phone numbers, email, delivery and failure notes',
  billing: 'Billing: payment references, amounts to collect and delivery fees',
};

/**
 * Exporting the depot's stops and routes: a date range, the data classes the user may export
 * (customer contact only with `export.customer`), CSV or XLSX. The row count is asked first; an
 * export above the bulk limit becomes an approval request with the user's reason. Otherwise main
 * asks where to save, downloads and writes the file; the page never touches it.
 */
export function ExportDialog({ location, onClose, onChanged }: { location: LocationView; onClose: () => void; onChanged: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  const mayCustomer = location.permissions.includes('export.customer');
  // Billing values are in the file only for someone who may read them: offer the class to them alone.
  const mayBilling = location.permissions.includes('export.billing') && location.permissions.includes('stop.readBilling');
  const today = isoDay(new Date());
  const [from, setFrom] = useState(() => isoDay(new Date(Date.now() - 6 * 86_400_000)));
  const [to, setTo] = useState(today);
  const [classes, setClasses] = useState<ExportDataClass[]>(['operational']);
  const [format, setFormat] = useState<ExportFormat>('csv');
  const [reason, setReason] = useState('');
  const [result, setResult] = useState<ExportResult | null>(null);
  /** The server said approval is needed although the count said not (rows were added meanwhile). */
  const [grewPastLimit, setGrewPastLimit] = useState(false);
  const action = useAction();

  const validRange = /^\d{4}-\d{2}-\d{2}$/.test(from) && /^\d{4}-\d{2}-\d{2}$/.test(to) && from <= to;
  // Asked once typing settles; the key is a string so an unchanged choice is not asked again.
  const current = JSON.stringify({ from, to, classes });
  const askedKey = useDebounced(current, 300);
  const ready = validRange && classes.length > 0 && askedKey === current;
  const preview = useQuery(() => call('exportPreview', { locationId: location.id, from, to, classes }), [location.id, askedKey], ready);
  const p = ready ? preview.data : undefined;
  const needsApproval = (p?.needsApproval ?? false) || grewPastLimit;

  const toggle = (c: ExportDataClass, on: boolean) => setClasses((list) => (on ? [...list, c].sort() : list.filter((x) => x !== c)));

  function submit(event: FormEvent) {
    event.preventDefault();
    setResult(null);
    void action.run(async () => {
      try {
        const answer = await call('exportStops', { locationId: location.id, from, to, classes, format, ...(reason.trim() ? { reason: reason.trim() } : {}) });
        setResult(answer);
        if (answer.outcome !== 'cancelled') onChanged();
      } catch (err) {
        if ((err as { code?: string }).code === 'approval_required') setGrewPastLimit(true);
        throw err;
      }
    });
  }

  return (
    <dialog ref={dialog} className="gov-dialog" onCancel={(e) => { e.preventDefault(); onClose(); }}
      onKeyDown={(e) => { if (e.key === 'Escape') { e.preventDefault(); onClose(); } }} aria-labelledby="export-title" data-testid="export-dialog">
      <h2 id="export-title">Export stops and routes of {location.name}</h2>
      <form className="gov-form" onSubmit={submit}>
        <div className="gov-inline">
          <label>From <input type="date" required value={from} max={to} onChange={(e) => setFrom(e.target.value)} data-testid="export-from" /></label>
          <label>To <input type="date" required value={to} min={from} onChange={(e) => setTo(e.target.value)} data-testid="export-to" /></label>
          {validRange && <span className="muted">{exportRangeDays(from, to)} day{exportRangeDays(from, to) === 1 ? '' : 's'} of routes, in the depot&rsquo;s dates</span>}
        </div>
        {!validRange && <p className="form-error" role="alert">The start date must be on or before the end date.</p>}
        <fieldset>
          <legend>What to include</legend>
          <label className="check">
            <input type="checkbox" checked={classes.includes('operational')} onChange={(e) => toggle('operational', e.target.checked)} data-testid="export-class-operational" />
            {classText.operational}
          </label>
          {mayCustomer && (
            <label className="check">
              <input type="checkbox" checked={classes.includes('customer')} onChange={(e) => toggle('customer', e.target.checked)} data-testid="export-class-customer" />
              {classText.customer}
            </label>
          )}
          {mayBilling && (
            <label className="check">
              <input type="checkbox" checked={classes.includes('billing')} onChange={(e) => toggle('billing', e.target.checked)} data-testid="export-class-billing" />
              {classText.billing}
            </label>
          )}
          {classes.length === 0 && <p className="form-error">Choose at least one.</p>}
        </fieldset>
        <fieldset>
          <legend>Format</legend>
          <label className="check"><input type="radio" name="export-format" checked={format === 'csv'} onChange={() => setFormat('csv')} /> CSV</label>
          <label className="check"><input type="radio" name="export-format" checked={format === 'xlsx'} onChange={() => setFormat('xlsx')} data-testid="export-format-xlsx" /> Excel (XLSX)</label>
        </fieldset>
        <div aria-live="polite" data-testid="export-preview">
          {preview.error && ready ? <p className="form-error" role="alert">{preview.error}</p>
            : p ? (
              <p className={p.needsApproval ? 'notice notice-warn' : 'muted'}>
                {p.rowCount} row{p.rowCount === 1 ? '' : 's'}.
                {p.needsApproval ? ` That is more than ${p.bulkRows}: a second person has to approve this export before you can download it.` : ''}
              </p>
            ) : <p className="muted">{ready ? 'Counting rows…' : ''}</p>}
        </div>
        {needsApproval && (
          <label>
            Why you need it <span className="hint">the approver reads this</span>
            <textarea rows={2} required minLength={3} maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="export-reason" />
          </label>
        )}
        {action.error && <p className="form-error" role="alert" data-testid="export-error">{action.error}</p>}
        {result?.outcome === 'saved' && <ExportSaved path={result.path} rows={result.rows} />}
        {result?.outcome === 'cancelled' && <p className="muted" role="status">Nothing was saved: the save dialog was closed.</p>}
        {result?.outcome === 'pending_approval' && (
          <div className="notice" role="status" data-testid="export-pending">
            <strong>Sent for approval.</strong> Once approved, download it from Approvals, My requests.
            <ApprovalCard approval={result.approval} onChanged={onChanged} />
          </div>
        )}
        <div className="actions">
          <button type="button" onClick={onClose}>Close</button>
          <button type="submit" className="primary" disabled={action.busy || !validRange || classes.length === 0 || result?.outcome === 'pending_approval'} data-testid="export-submit">
            {needsApproval ? 'Ask for approval' : 'Export…'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
