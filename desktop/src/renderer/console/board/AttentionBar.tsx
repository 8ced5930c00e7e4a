import type { BoardSummaryView } from '@depotline/shared';
import { timeAt } from '../../format';

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`;

/**
 * The depot's day at a glance: late, at risk, unassigned, failed and delivered stops, always
 * in view above the board. The numbers are the shared definitions (shared attention.ts);
 * ETAs are estimates, and the bar says with which settings.
 */
export function AttentionBar({ summary }: { summary: BoardSummaryView | undefined }) {
  if (!summary) return <div className="attention-bar" aria-busy="true" data-testid="attention-bar"><span className="muted">Counting…</span></div>;
  const c = summary.counts;
  const s = summary.eta.settings;
  const estimate = summary.eta.usesPositions
    ? `ETAs are estimates from the driver's last position: ${s.averageSpeedKmh} km/h on average, road distance ${s.roadFactor}× the straight line, ${s.serviceMinutes} min per stop.`
    : 'ETAs shown are the ones recorded on stops: your access here does not include driver positions, so nothing is estimated.';
  return (
    <section className="attention-bar" aria-label="What needs attention" data-testid="attention-bar">
      <Count kind="late" n={c.late} label="Late" hint="Window has ended, not delivered yet" />
      <Count kind="at-risk" n={c.atRisk} label="At risk" hint="Estimated arrival after the window ends" />
      <Count kind="unassigned" n={c.unassigned} label="Unassigned" hint="Open stops on routes without a driver"
        extra={c.unassignedRoutes > 0 ? plural(c.unassignedRoutes, 'route') : null} />
      <Count kind="failed" n={c.failed} label="Failed" hint="Delivery attempts that failed" />
      <Count kind="delivered" n={c.delivered} label="Delivered" hint="Delivered stops" extra={`of ${c.total.toLocaleString('en-GB')}`} />
      <span className="attention-asof muted" title={estimate} data-testid="attention-asof">
        {plural(c.routes, 'route')} · as of {timeAt(summary.asOf, summary.timeZone)} · {summary.eta.usesPositions ? 'ETAs are estimates' : 'ETAs as recorded'}
      </span>
    </section>
  );
}

function Count({ kind, n, label, hint, extra = null }: { kind: string; n: number; label: string; hint: string; extra?: string | null }) {
  return (
    <span className={`attention-count attention-${kind} ${n > 0 ? 'nonzero' : ''}`} title={hint} data-testid={`attention-${kind}`} data-count={n}>
      <span className="attention-n">{n.toLocaleString('en-GB')}</span>
      <span className="attention-label">{label}</span>
      {extra && <span className="attention-extra muted">{extra}</span>}
    </span>
  );
}
