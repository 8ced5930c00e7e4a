import type { AttentionCounts, RouteRowView } from '@depotline/shared';
import { ProgressBar } from '../../ui/StatusBadge';

/** A route on the board: name, done of total, what needs attention, driver and vehicle, progress. */
export function RouteRow({ route, selected, onSelect }: { route: RouteRowView; selected: boolean; onSelect: () => void }) {
  return (
    <button type="button" className={`route-row ${selected ? 'selected' : ''}`} onClick={onSelect} data-testid="route-row" data-route-id={route.id}>
      <span className="route-line">
        <span className="route-name">{route.name}</span>
        <span className="route-count">{route.doneCount}/{route.stopCount}</span>
      </span>
      <span className="route-line muted">
        <span className="route-meta">{route.driverName ?? 'No driver'} · {route.vehicleLabel ?? 'no vehicle'}</span>
        {route.attention && <AttentionBadges counts={route.attention} />}
        {route.pendingEdits > 0 && <span className="pending-dot" title={`${route.pendingEdits} edits waiting to sync`}>{route.pendingEdits}</span>}
      </span>
      <ProgressBar byStatus={route.byStatus} total={route.stopCount} />
    </button>
  );
}

/** Only the counts that need a look; nothing when the route is fine. */
export function AttentionBadges({ counts }: { counts: AttentionCounts }) {
  const badges: Array<[string, number, string]> = [
    ['late', counts.late, 'late'],
    ['at-risk', counts.atRisk, 'at risk'],
    ['unassigned', counts.unassigned, 'unassigned'],
    ['failed', counts.failed, 'failed'],
  ];
  const shown = badges.filter(([, n]) => n > 0);
  if (shown.length === 0) return null;
  return (
    <span className="route-attention" data-testid="route-attention">
      {shown.map(([kind, n, label]) => (
        <span key={kind} className={`attention-badge attention-${kind}`} data-kind={kind} title={`${n} ${label}`}>{n} {label}</span>
      ))}
    </span>
  );
}
