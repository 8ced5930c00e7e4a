import type { StopStatus } from '@depotline/shared';
import { statusLabel } from '../format';

export function StatusBadge({ status }: { status: StopStatus }) {
  return <span className={`badge status-${status}`} data-status={status}>{statusLabel[status]}</span>;
}

/** Delivered, failed and cancelled shares of a route, as a thin bar. */
export function ProgressBar({ byStatus, total }: { byStatus: Record<StopStatus, number>; total: number }) {
  const pct = (n: number) => (total === 0 ? 0 : (n / total) * 100);
  return (
    <div className="progress" role="img" aria-label={`${byStatus.delivered} delivered, ${byStatus.failed} failed of ${total}`}>
      <div className="progress-delivered" style={{ width: `${pct(byStatus.delivered)}%` }} />
      <div className="progress-failed" style={{ width: `${pct(byStatus.failed)}%` }} />
      <div className="progress-cancelled" style={{ width: `${pct(byStatus.cancelled)}%` }} />
      <div className="progress-active" style={{ width: `${pct(byStatus.en_route + byStatus.arrived)}%` }} />
    </div>
  );
}
