import type { Mutation } from '@depotline/shared';
import type { AuditActor, AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import type { Applied } from '../sync/mutations/handler';
import type { DomainEvent } from '../webhooks/outbox';
import { trackingLinkRefused, withdrawnPurposes } from '../privacy/consents';
import { createTrackingLink, shortenLinksOfFinishedStops, trackingLinkCreatedEvent } from './links';

/**
 * What an applied mutation means for tracking links, inside the push's transaction:
 *
 * - a route dispatched (`route.assign` giving it a driver it did not have) gets a link for each
 *   of its open stops that has no working one yet (DEPOTLINE_TRACKING_AUTO), each audited and
 *   announced by a `tracking_link.created` webhook that carries the address; a stop whose
 *   customer withdrew consent to delivery notifications, or to both tracking by SMS and by
 *   email, gets none (audited as skipped, privacy/consents.ts);
 * - a stop delivered or cancelled (one by one, or with its route) brings its links' end forward
 *   to DEPOTLINE_TRACKING_AFTER_FINAL_HOURS from now.
 */
export interface TrackingConsequences {
  audits: { actor: AuditActor; event: AuditEvent }[];
  events: DomainEvent[];
}

const openStatuses = ['planned', 'en_route', 'arrived'];

export async function trackingAfterMutation(
  ctx: ServerContext, trx: Db, m: Mutation, applied: Applied, caller: { actor: AuditActor; userId: string }, now: number,
): Promise<TrackingConsequences> {
  const out: TrackingConsequences = { audits: [], events: [] };
  if (m.type === 'route.assign') {
    const before = applied.before && 'driver_id' in applied.before ? applied.before : undefined;
    if (!ctx.config.tracking.autoCreate || m.driverId === null || before?.driver_id === m.driverId) return out;
    const stops = await trx.selectFrom('stops').select(['id', 'status', 'location_id', 'phone_bidx', 'email_bidx']).where('route_id', '=', m.routeId)
      .where('location_id', '=', m.locationId).where('status', 'in', openStatuses).orderBy('sequence').execute();
    if (stops.length === 0) return out;
    const linked = new Set((await trx.selectFrom('tracking_links').select('stop_id')
      .where('stop_id', 'in', stops.map((s) => s.id)).where('revoked_at', 'is', null).where('expires_at', '>', now).execute()).map((l) => l.stop_id));
    const withdrawn = await withdrawnPurposes(trx, stops);
    for (const stop of stops.filter((s) => !linked.has(s.id))) {
      const w = withdrawn.get(stop.id);
      if (w && trackingLinkRefused(w)) {
        out.audits.push({ actor: caller.actor, event: {
          action: 'tracking_link.skip', outcome: 'ok', targetType: 'stop', targetId: stop.id, locationId: m.locationId,
          details: { reason: 'consent_withdrawn', purposes: [...w].sort(), routeId: m.routeId },
        } });
        continue;
      }
      const { row, token } = await createTrackingLink(trx, ctx, {
        stopId: stop.id, locationId: m.locationId, stopStatus: stop.status, origin: 'auto', createdBy: caller.userId,
      }, now);
      out.events.push(trackingLinkCreatedEvent(ctx, row, token));
      out.audits.push({ actor: caller.actor, event: {
        action: 'tracking_link.create', outcome: 'ok', targetType: 'tracking_link', targetId: row.id, locationId: m.locationId,
        details: { stopId: stop.id, origin: 'auto', routeId: m.routeId, expiresAt: row.expires_at },
      } });
    }
    return out;
  }
  const finished = m.type === 'stop.setStatus' ? (m.to === 'delivered' ? [m.stopId] : [])
    : m.type === 'stop.cancel' ? [m.stopId]
    // Only planned stops are cancelled with their route, each touched once.
    : m.type === 'route.cancel' ? applied.touched.filter((t) => t.entity === 'stop').map((t) => t.id)
    : [];
  await shortenLinksOfFinishedStops(trx, ctx, finished, now);
  return out;
}
