import { useEffect, useRef, useState } from 'react';
import type { ColumnMapping, ImportField, ImportFileView, ImportSummaryView, LocationView } from '@depotline/shared';
import { call } from '../bridge';
import { useDebounced, useQuery } from '../console/hooks';
import { useAction } from '../security/use-action';
import '../governance/governance.css';
import './import.css';

type Chosen = Extract<ImportFileView, { outcome: 'chosen' }>;
const pageSize = 100;
const actionText = { create: 'New', update: 'Update', skip: 'Skip' } as const;

/**
 * Importing the day's orders from a CSV or XLSX file: main opens and reads the file (the page
 * never sees it), the user maps its columns to order fields (remembered per depot), the preview
 * says per row what will be created, updated or skipped and why, in pages of 100, and the
 * import queues the edits in batches while a bar shows how far it is. Shown to holders of
 * route and stop editing at the depot.
 */
export function ImportDialog({ location, onClose }: { location: LocationView; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    return () => {
      d?.close();
      void call('importDiscard').catch(() => undefined);
    };
  }, []);
  const [file, setFile] = useState<Chosen | null>(null);
  const [mapping, setMapping] = useState<ColumnMapping>({});
  const [date, setDate] = useState('');
  const [currency, setCurrency] = useState('');
  const [page, setPage] = useState(0);
  const [onlyProblems, setOnlyProblems] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [summary, setSummary] = useState<ImportSummaryView | null>(null);
  const choose = useAction();
  const apply = useAction();

  const args = { locationId: location.id, mapping, date, currency: currency.trim() ? currency.trim().toUpperCase() : null };
  const current = JSON.stringify(args);
  const asked = useDebounced(current, 250);
  const ready = file !== null && summary === null && asked === current && /^\d{4}-\d{2}-\d{2}$/.test(date);
  const preview = useQuery(() => call('importPreview', { ...args, offset: page * pageSize, limit: pageSize, onlyProblems }), [asked, page, onlyProblems], ready);
  const p = ready ? preview.data : undefined;

  function chooseFile() {
    setSummary(null);
    void choose.run(async () => {
      const answer = await call('importChooseFile', { locationId: location.id });
      if (answer.outcome !== 'chosen') return;
      setFile(answer);
      setMapping(answer.mapping);
      setDate(answer.date);
      setPage(0);
    });
  }

  function setColumn(field: ImportField, column: string) {
    setPage(0);
    setMapping((m) => {
      const next: ColumnMapping = { ...m };
      if (column === '') delete next[field];
      else next[field] = column;
      return next;
    });
  }

  function runImport() {
    const timer = setInterval(() => { void call('importProgress').then(setProgress, () => undefined); }, 200);
    void apply.run(async () => {
      try {
        setSummary(await call('importApply', args));
      } finally {
        clearInterval(timer);
        setProgress(null);
      }
    });
  }

  const sending = p ? p.counts.create + p.counts.update : 0;
  const pages = p ? Math.max(1, Math.ceil(p.matching / pageSize)) : 1;

  return (
    <dialog ref={dialog} className="gov-dialog import-dialog" onCancel={(e) => { e.preventDefault(); if (!apply.busy) onClose(); }}
      aria-labelledby="import-title" data-testid="import-dialog">
      <h2 id="import-title">Import orders into {location.name}</h2>
      <div className="gov-inline">
        <button type="button" onClick={chooseFile} disabled={choose.busy || apply.busy} data-testid="import-choose">{file ? 'Choose another file…' : 'Choose a CSV or Excel file…'}</button>
        {file && <span className="muted" data-testid="import-file">{file.fileName}: {file.rowCount} row{file.rowCount === 1 ? '' : 's'}</span>}
      </div>
      {choose.error && <p className="form-error" role="alert" data-testid="import-error">{choose.error}</p>}

      {file && !summary && (
        <>
          <fieldset className="import-mapping">
            <legend>Which column holds what</legend>
            <div className="import-mapping-grid">
              {file.fields.map((f) => (
                <label key={f.field}>
                  {f.label}{f.required ? ' *' : ''}
                  <select value={mapping[f.field] ?? ''} onChange={(e) => setColumn(f.field, e.target.value)} data-testid={`import-map-${f.field}`}>
                    <option value="">— not in the file —</option>
                    {file.header.filter((h) => h !== '').map((h) => <option key={h} value={h}>{h}</option>)}
                  </select>
                </label>
              ))}
            </div>
            <div className="gov-inline">
              <label>Day of the orders <input type="date" required value={date} onChange={(e) => { setDate(e.target.value); setPage(0); }} data-testid="import-date" /></label>
              {file.fields.some((f) => f.field === 'amount') && (
                <label>Currency <input value={currency} maxLength={3} size={4} placeholder="EUR" onChange={(e) => setCurrency(e.target.value)} data-testid="import-currency" /></label>
              )}
              <span className="hint">Times without a date are on this day, in the depot&rsquo;s time zone ({location.timezone}).</span>
            </div>
          </fieldset>

          <div aria-live="polite" data-testid="import-preview">
            {preview.error && ready ? <p className="form-error" role="alert">{preview.error}</p>
              : !p ? <p className="muted">{ready ? 'Checking the rows…' : ''}</p>
                : p.problems.length > 0 ? (
                  <ul className="form-error" role="alert" data-testid="import-file-problems">{p.problems.map((m) => <li key={m}>{m}</li>)}</ul>
                ) : (
                  <>
                    <p data-testid="import-counts">
                      <strong>{p.counts.create}</strong> new, <strong>{p.counts.update}</strong> to update, <strong>{p.counts.skip}</strong> skipped
                      {p.invalid > 0 ? <> (<span className="import-bad">{p.invalid} with problems</span>: they are not imported)</> : null}
                      {p.newRoutes.length > 0 ? <>; new route{p.newRoutes.length === 1 ? '' : 's'}: {p.newRoutes.slice(0, 8).join(', ')}{p.newRoutes.length > 8 ? '…' : ''}</> : null}.
                    </p>
                    <label className="check"><input type="checkbox" checked={onlyProblems} onChange={(e) => { setOnlyProblems(e.target.checked); setPage(0); }} data-testid="import-only-problems" /> Only rows with problems</label>
                    <div className="import-table-wrap">
                      <table className="import-table" data-testid="import-rows">
                        <thead><tr><th>Row</th><th>Order</th><th>Route</th><th>Will</th><th>Why / what</th></tr></thead>
                        <tbody>
                          {p.rows.map((r) => (
                            <tr key={r.row} className={`import-${r.action}${r.problems.length > 0 ? ' import-invalid' : ''}`} data-testid={`import-row-${r.row}`}>
                              <td>{r.row}</td>
                              <td>{r.orderRef ?? '—'}</td>
                              <td>{r.routeName ?? ''}</td>
                              <td>{actionText[r.action]}</td>
                              <td>
                                {r.problems.length > 0
                                  ? r.problems.map((x, i) => <div key={i}>{x.column ? <strong>{x.column}: </strong> : null}{x.message}</div>)
                                  : r.action === 'update' ? `${r.changes.join(', ')}${r.reason ? `; ${r.reason}` : ''}` : (r.reason ?? '')}
                              </td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                    {pages > 1 && (
                      <div className="gov-inline">
                        <button type="button" disabled={page === 0} onClick={() => setPage((x) => x - 1)}>Previous</button>
                        <span className="muted">Page {page + 1} of {pages}</span>
                        <button type="button" disabled={page + 1 >= pages} onClick={() => setPage((x) => x + 1)} data-testid="import-next">Next</button>
                      </div>
                    )}
                  </>
                )}
          </div>
        </>
      )}

      {progress && (
        <div role="status" data-testid="import-progress">
          <progress max={progress.total} value={progress.done} /> {progress.done} of {progress.total} changes queued
        </div>
      )}
      {apply.error && <p className="form-error" role="alert" data-testid="import-apply-error">{apply.error}</p>}
      {summary && (
        <div className="notice" role="status" data-testid="import-summary">
          <p><strong>Imported.</strong> {summary.created} created, {summary.updated} updated, {summary.skipped} skipped
            {summary.routesCreated > 0 ? `, ${summary.routesCreated} new route${summary.routesCreated === 1 ? '' : 's'}` : ''}. The changes are sent to the server as soon as there is a connection.</p>
          {summary.skippedRows.length > 0 && (
            <ul className="import-skipped">{summary.skippedRows.map((s) => <li key={`${s.row}-${s.reason}`}>Row {s.row}: {s.reason}</li>)}</ul>
          )}
        </div>
      )}
      <div className="actions">
        <button type="button" onClick={onClose} disabled={apply.busy}>{summary ? 'Done' : 'Close'}</button>
        {!summary && (
          <button type="button" className="primary" onClick={runImport} disabled={apply.busy || !p || p.problems.length > 0 || sending === 0} data-testid="import-submit">
            {sending > 0 ? `Import ${sending} order${sending === 1 ? '' : 's'}` : 'Import'}
          </button>
        )}
      </div>
    </dialog>
  );
}
