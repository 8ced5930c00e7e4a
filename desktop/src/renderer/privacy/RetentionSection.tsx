import { useState, type FormEvent } from 'react';
import type { ApprovalView, ConsoleRetentionClass } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { useAction } from '../security/use-action';
import { classEffect, classLabel, daysText } from './privacy-text';

/**
 * How long the depot keeps each kind of data. Lowering a period applies at once; raising it asks
 * why and becomes a request a second admin decides (shown as waiting, followed under Approvals).
 */
export function RetentionSection({ locationId, version, onChanged }: { locationId: string; version: number; onChanged: () => void }) {
  const retention = useQuery(() => call('depotRetention', { locationId }), [locationId, version]);
  const [editing, setEditing] = useState<ConsoleRetentionClass['class'] | null>(null);
  const [pending, setPending] = useState<ApprovalView | null>(null);
  const r = retention.data;
  return (
    <section className="gov-section" aria-label="Retention periods" data-testid="retention-section">
      <header><h3>How long data is kept here</h3></header>
      {retention.error && <p className="form-error" role="alert">{retention.error}</p>}
      {pending && (
        <p className="notice" role="status" data-testid="retention-pending">
          Waiting for approval: {pending.title}. A second admin decides it under Approvals; until then the period stays as it is.
        </p>
      )}
      {!r ? <p className="muted">{retention.loading ? 'Loading…' : ''}</p> : (
        <table className="privacy-table" aria-label="Retention periods">
          <thead><tr><th>Data</th><th>Kept for</th><th>Default</th><th>At most</th><th /></tr></thead>
          <tbody>
            {r.classes.map((c) => (
              <tr key={c.class} data-testid="retention-row" data-class={c.class}>
                <td>{classLabel[c.class]}<div className="muted">{classEffect[c.class]}</div></td>
                <td data-testid="retention-days">{editing === c.class
                  ? <PeriodForm locationId={locationId} period={c} onDone={(approval) => { setEditing(null); setPending(approval); onChanged(); }} onCancel={() => setEditing(null)} />
                  : <>{daysText(c.days)}{c.overridden ? '' : <span className="muted"> (default)</span>}</>}
                </td>
                <td>{daysText(c.defaultDays)}</td>
                <td>{daysText(c.maxDays)}</td>
                <td>{r.canEdit && editing === null && <button type="button" onClick={() => { setEditing(c.class); setPending(null); }} data-testid="retention-edit">Change</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r && r.global.length > 0 && (
        <p className="muted" data-testid="retention-global">Server-wide: {r.global.map((g) => `${classLabel[g.class]} ${daysText(g.days)}`).join(' · ')}.</p>
      )}
    </section>
  );
}

function PeriodForm({ locationId, period, onDone, onCancel }: {
  locationId: string; period: ConsoleRetentionClass; onDone: (approval: ApprovalView | null) => void; onCancel: () => void;
}) {
  const action = useAction();
  const [days, setDays] = useState(String(period.days));
  const [reason, setReason] = useState('');
  const value = Number(days);
  const widening = Number.isInteger(value) && value > period.days;
  function submit(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      const result = await call('setDepotRetention', { locationId, class: period.class, days: value, ...(widening && reason.trim() ? { reason: reason.trim() } : {}) });
      onDone(result.outcome === 'pending_approval' ? result.approval : null);
    });
  }
  return (
    <form className="gov-form" onSubmit={submit} aria-label={`Change how long ${classLabel[period.class].toLowerCase()} are kept`} data-testid="retention-form">
      <label>Days <input type="number" min={1} max={period.maxDays} step={1} value={days} onChange={(e) => setDays(e.target.value)} data-testid="retention-input" /></label>
      {widening && (
        <label>Why keep it longer? <span className="hint">a second admin reads this</span>
          <input required minLength={3} maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="retention-reason" />
        </label>
      )}
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" className="primary" disabled={action.busy || !Number.isInteger(value) || value < 1 || value > period.maxDays} data-testid="retention-save">
          {widening ? 'Ask for approval' : 'Save'}
        </button>
      </div>
    </form>
  );
}
