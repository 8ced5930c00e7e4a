import { useEffect, useState } from 'react';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';

/** How often the console asks how many requests wait for the user: the server pushes none. */
export const approvalPollMs = 20_000;

/**
 * How many approval requests wait for this user's decision, asked of the server every
 * `approvalPollMs` while the console is shown (it unmounts when the console locks, and the
 * asking stops) and whenever `version` moves. Zero when the server has no approvals.
 */
export function useAwaitingDecision(version: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), approvalPollMs);
    return () => clearInterval(t);
  }, []);
  const notices = useQuery(() => call('approvalNotices'), [version, tick]);
  return notices.data?.awaitingDecision ?? 0;
}

/** The banner under the header while requests wait for the user's decision (not on the Approvals screen itself). */
export function ApprovalNotice({ count, onOpen }: { count: number; onOpen: () => void }) {
  if (count === 0) return null;
  return (
    <section className="notices" aria-label="Approval notices">
      <div className="notice-item notice-request" role="status" data-testid="approval-notice">
        <div className="notice-grow">
          <strong>{count === 1 ? 'A change waits for your approval' : `${count} changes wait for your approval`}</strong>
          <div className="muted">Someone asked for a change that needs a second person. Nothing happens until it is approved.</div>
        </div>
        <button type="button" onClick={onOpen} data-testid="open-approvals">Review</button>
      </div>
    </section>
  );
}
