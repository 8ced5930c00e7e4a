import type { Mutation } from '@depotline/shared';
import type { Applied } from '../sync/mutations/handler';
import type { DomainEvent } from './outbox';

/**
 * What integrations hear of an applied mutation (docs/api.md "Webhooks"): a stop's status change
 * (`stop.status_changed`, and `stop.delivered` / `stop.failed` beside it), a route cancelled with
 * its planned stops, and a new stop (`order.created`: every stop is an order's delivery). Ids and
 * statuses only; the stop itself is read when the delivery is sent, through the integration's
 * data profile. A mutation that changes nothing an integration hears of gives no event.
 */
export function webhookEventsOf(m: Mutation, applied: Applied, now: number): DomainEvent[] {
  const at = (stopId: string, type: DomainEvent['type'], data?: Record<string, unknown>): DomainEvent =>
    ({ type, locationId: m.locationId, stopId, occurredAt: now, ...(data ? { data } : {}) });
  const statusChange = (stopId: string, from: string | null, to: string) => at(stopId, 'stop.status_changed', { from, to });
  const before = applied.before && 'status' in applied.before ? applied.before : undefined;
  switch (m.type) {
    case 'stop.setStatus': {
      const from = before?.status ?? null;
      if (from === m.to) return [];
      const events = [statusChange(m.stopId, from, m.to)];
      if (m.to === 'delivered') events.push(at(m.stopId, 'stop.delivered'));
      if (m.to === 'failed') events.push(at(m.stopId, 'stop.failed', { failureReason: m.failureReason ?? null }));
      return events;
    }
    case 'stop.cancel':
      return [statusChange(m.stopId, before?.status ?? null, 'cancelled')];
    case 'route.cancel':
      // Only planned stops are cancelled with their route (planning.ts), each touched once.
      return applied.touched.filter((t) => t.entity === 'stop').map((t) => statusChange(t.id, 'planned', 'cancelled'));
    case 'stop.create':
      return [at(m.stopId, 'order.created')];
    case 'stop.editNotes': case 'stop.update': case 'stop.move': case 'stop.revealPhone':
    case 'route.create': case 'route.assign': case 'route.update': case 'route.reorder': case 'position.report':
    case 'driver.create': case 'driver.update': case 'driver.retire': case 'vehicle.create': case 'vehicle.update': case 'vehicle.retire':
      return [];
  }
}
