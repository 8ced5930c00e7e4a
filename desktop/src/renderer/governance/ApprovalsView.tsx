import { useState } from 'react';
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
  const [showClosed, setShowClosed] = useState(false);
  const d = list.data;
  const mine = (d?.mine ?? []).filter((a) => showClosed || a.status === 'pending' || a.canDownload);
  const hiddenMine = (d?.mine.length ?? 0) - mine.length;
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
        <header>
          <h3>My requests</h3>
          <label className="check">
            <input type="checkbox" checked={showClosed} onChange={(e) => setShowClosed(e.target.checked)} /> Show decided and closed
          </label>
        </header>
        {!d ? <p className="muted">{list.loading ? 'Loading…' : ''}</p>
          : mine.length === 0 ? <p className="muted">{hiddenMine > 0 ? `No open requests (${hiddenMine} decided or closed).` : 'You have not asked for any change that needs approval.'}</p>
            : mine.map((a) => <ApprovalCard key={a.id} approval={a} onChanged={onChanged} />)}
      </section>
    </div>
  );
}
