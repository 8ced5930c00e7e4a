import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { ApprovalCard } from './ApprovalCard';
import './governance.css';

/**
 * The Approvals screen: requests waiting for this user's decision (shown to whoever the server
 * lets decide at least one), and "My requests" for everyone: the state of what they asked for,
 * with Withdraw while pending and Download for an approved export. Read when shown, after each
 * change, and when the console's poll sees the count move.
 */
export function ApprovalsView({ version, awaiting, onChanged, canDecide }: {
  version: number;
  /** The console's polled count of requests waiting for this user: when it moves, the list is read again. */
  awaiting: number;
  onChanged: () => void;
  /** The user holds `approval.decide` at some depot: the inbox is shown even when empty. */
  canDecide: boolean;
}) {
  const list = useQuery(() => call('approvals'), [version, awaiting]);
  const d = list.data;
  return (
    <div className="governance" data-testid="approvals-view">
      {list.error && <p className="form-error" role="alert">{list.error}</p>}
      {(canDecide || (d?.toDecide.length ?? 0) > 0) && (
        <section className="gov-section" aria-label="Waiting for your decision" data-testid="approvals-inbox">
          <header><h3>Waiting for your decision</h3></header>
          <p className="muted">Read the exact change before deciding. Approving applies it at once; the requester sees your decision and note.</p>
          {!d ? <p className="muted">{list.loading ? 'Loading…' : ''}</p>
            : d.toDecide.length === 0 ? <p className="muted">Nothing waits for you.</p>
              : d.toDecide.map((a) => <ApprovalCard key={a.id} approval={a} onChanged={onChanged} />)}
        </section>
      )}
      <section className="gov-section" aria-label="My requests" data-testid="my-requests">
        <header><h3>My requests</h3></header>
        {!d ? <p className="muted">{list.loading ? 'Loading…' : ''}</p>
          : d.mine.length === 0 ? <p className="muted">You have not asked for any change that needs approval.</p>
            : d.mine.map((a) => <ApprovalCard key={a.id} approval={a} onChanged={onChanged} />)}
      </section>
    </div>
  );
}
