import type { ConsolePrivacyRequestView } from '@depotline/shared';
import { useNow } from '../console/hooks';
import { localDateTime } from '../format';
import { closeReasonLabel, dueText, kindLabel } from './privacy-text';

/** The register: open requests first, soonest due first, an overdue one marked in words and colour. */
export function RequestsRegister({ requests, loading, openId, onOpen }: {
  requests: readonly ConsolePrivacyRequestView[] | undefined; loading: boolean; openId: string | null; onOpen: (id: string) => void;
}) {
  const now = useNow(60_000);
  if (!requests) return <p className="muted">{loading ? 'Loading…' : ''}</p>;
  if (requests.length === 0) return <p className="muted" data-testid="no-privacy-requests">No open requests. Register one when a customer asks for their data, its correction or its erasure.</p>;
  return (
    <table className="privacy-table" aria-label="Privacy requests">
      <thead>
        <tr><th>Request</th><th>Customer</th><th>Received</th><th>Deadline</th><th>Status</th></tr>
      </thead>
      <tbody>
        {requests.map((r) => (
          <tr
            key={r.id} className={[r.overdue ? 'overdue' : '', r.id === openId ? 'open' : ''].join(' ').trim() || undefined}
            data-testid="privacy-request-row" data-request-id={r.id} data-kind={r.kind} data-overdue={r.overdue} data-status={r.status}
          >
            <td>
              <button type="button" className="link-button" aria-expanded={r.id === openId} onClick={() => onOpen(r.id)} data-testid="open-privacy-request">
                {kindLabel[r.kind]}
              </button>
              <div className="muted">{r.law.toUpperCase()}{r.reference ? ` · ${r.reference}` : ''}</div>
            </td>
            <td>{r.subject ? (r.subject.customerName ?? r.subject.email ?? r.subject.phone) : <span className="muted">erased</span>}</td>
            <td>{localDateTime(r.receivedAt)}</td>
            <td data-testid="privacy-request-due">
              {localDateTime(r.dueAt)}
              {r.status === 'open' && <div className={r.overdue ? 'due overdue' : 'due'}>{dueText(r.dueAt, r.overdue ? Math.max(now, r.dueAt + 1) : now)}</div>}
            </td>
            <td data-testid="privacy-request-status">
              {r.status === 'open' ? 'Open' : `Closed: ${r.closeReason ? closeReasonLabel[r.closeReason] : ''}`}
              {r.handledBy && <div className="muted">by {r.handledBy}</div>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
