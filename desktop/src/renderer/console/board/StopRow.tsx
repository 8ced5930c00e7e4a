import type { StopRowView } from '@depotline/shared';
import { timeAt, windowText } from '../../format';
import { StatusBadge } from '../../ui/StatusBadge';

/** One stop in the list. The ETA says where it comes from; a late or at-risk stop says so in words. */
export function StopRow({ stop, timeZone, selected, onSelect, routeName }: {
  stop: StopRowView;
  timeZone: string;
  selected: boolean;
  onSelect: () => void;
  routeName: string | null;
}) {
  const flag = stop.attention ?? null;
  return (
    <button
      type="button" className={`stop-row ${selected ? 'selected' : ''} ${flag ? `flag-${flag}` : ''}`} onClick={onSelect}
      data-testid="stop-row" data-stop-id={stop.id} data-status={stop.status} data-attention={flag ?? ''} data-erased={stop.pseudonymised === true}
    >
      <span className="c-seq">{stop.sequence + 1}</span>
      {routeName !== null && <span className="c-route" title={routeName}>{routeName}</span>}
      <span className="c-customer">{stop.customerName ?? <Absent erased={stop.pseudonymised === true} />}</span>
      <span className="c-address" title={stop.address}>{stop.address ?? <Absent erased={stop.pseudonymised === true} />}</span>
      <span className="c-window">{windowText(stop.window, timeZone)}</span>
      <Eta stop={stop} timeZone={timeZone} />
      <span className="c-status">
        <StatusBadge status={stop.status} />
        {flag === 'late' && <span className="stop-flag flag-late">Late</span>}
        {flag === 'at_risk' && <span className="stop-flag flag-at_risk">At risk</span>}
        {stop.pending && <span className="pending-dot" title="Waiting to sync">•</span>}
      </span>
    </button>
  );
}

/** A customer field the row does not show: erased for good (retention or a privacy request), or not for this viewer. */
function Absent({ erased }: { erased: boolean }) {
  return erased
    ? <span className="muted" title="Customer details erased under the depot's retention period or a privacy request">erased</span>
    : <span className="muted">hidden</span>;
}

function Eta({ stop, timeZone }: { stop: StopRowView; timeZone: string }) {
  if (stop.eta === null) {
    const why = stop.status === 'planned' || stop.status === 'en_route' ? 'Unknown: no recent driver position, or this stop or one before it has no coordinates' : '';
    return <span className="c-eta muted" title={why} data-testid="stop-eta">—</span>;
  }
  const at = timeAt(stop.eta, timeZone);
  return stop.etaSource === 'estimate'
    ? <span className="c-eta eta-estimate" title={`Estimated arrival ${at} (an estimate, not a promise)`} data-testid="stop-eta">~{at}</span>
    : <span className="c-eta" title={`Arrival ${at}, as recorded on the stop`} data-testid="stop-eta">{at}</span>;
}
