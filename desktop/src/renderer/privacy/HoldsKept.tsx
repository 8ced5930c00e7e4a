import type { ConsoleHoldNotice } from '@depotline/shared';
import { depotText } from '../governance/ApprovalCard';

/** What legal holds kept from an erasure, with each hold's reason and who answers for it. */
export function HoldsKept({ holds, stops }: { holds: readonly ConsoleHoldNotice[]; stops?: number }) {
  return (
    <div className="notice notice-warn" data-testid="holds-kept">
      {stops !== undefined ? `${stops} ${stops === 1 ? 'stop was' : 'stops were'} kept by a legal hold:` : 'Kept by a legal hold:'}
      <ul>
        {holds.map((h, i) => (
          <li key={`${h.scope}-${i}`} data-testid="hold-kept">
            <strong>{h.reason}</strong> (owner: {h.owner}; {h.scope === 'location' ? `all of ${depotText(h.location)}` : h.scope === 'stop' ? 'one stop' : 'this customer'})
          </li>
        ))}
      </ul>
    </div>
  );
}
