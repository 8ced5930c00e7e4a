import type { ConsoleNotice } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from './hooks';

const removedWhy = { grant_revoked: 'your access was revoked', grant_expired: 'your access expired', not_listed: 'you no longer have access' } as const;

/** Edits the server refused (with its reason and current value), and depots that went away. */
export function Notices({ dataVersion, notices, onDismissNotice }: { dataVersion: number; notices: ConsoleNotice[]; onDismissNotice: (i: number) => void }) {
  const rejected = useQuery(() => call('listRejected'), [dataVersion]);
  const list = rejected.data ?? [];
  if (list.length === 0 && notices.length === 0) return null;
  return (
    <section className="notices" aria-label="Notices" data-testid="notices">
      {list.map((r) => (
        <div key={r.id} className="notice-item notice-rejected" role="alert" data-testid="rejected-notice">
          <div>
            <strong>Change not accepted</strong>{r.target.label ? <> · {r.target.label}</> : null}
            <div className="notice-body">
              You tried <em>{r.attempted}</em>. The server said: <span data-testid="rejected-reason">{r.reason}</span>
              {r.serverValue && <> — on the server now: <strong data-testid="rejected-server-value">{r.serverValue}</strong></>}
            </div>
          </div>
          <button type="button" onClick={() => void call('dismissRejected', { id: r.id }).finally(() => undefined)}>Dismiss</button>
        </div>
      ))}
      {notices.map((n, i) => (
        <div key={`${n.locationId}-${i}`} className="notice-item notice-info" role="status">
          <div>
            <strong>{n.locationName ?? n.locationId} was removed from this computer</strong> because {removedWhy[n.reason]}.
            {n.discardedEdits > 0 && <> {n.discardedEdits} unsent edit{n.discardedEdits === 1 ? ' was' : 's were'} discarded.</>}
          </div>
          <button type="button" onClick={() => onDismissNotice(i)}>Dismiss</button>
        </div>
      ))}
    </section>
  );
}
