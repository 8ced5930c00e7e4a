import {
  defaultEtaSettings, estimateRouteEtas, haversineKm, isOpenStopStatus, remainingVisits, type StopStatus, type TrackingStatus,
  trackingStatusText, type TrackingView,
} from '@depotline/shared';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { presentStop } from '../sync/presenters';
import { etaBucketOf, minuteOf, snapToGrid } from './coarse';
import type { TrackingLinkRow } from './links';
import { trackingPinOf } from './pin';

/**
 * The public view of a link's stop: the only thing the page and its status endpoint are built
 * from. It is assembled field by field from what the customer may know (docs/security-model.md,
 * "Customer tracking links"): the depot's name, a status, the window, an ETA, the PIN, how many
 * stops come first, and (if the depot allows) the driver's distance rounded to 0.5 km while this
 * stop is next. The ETA is a 15-minute step and `asOf` a minute (coarse.ts), so neither tells
 * where the driver is. Never a driver, a phone, a note, an address, another stop, the route or an id.
 *
 * Null when the stop is gone, or finished longer ago than a link may outlive it (a link whose
 * end was not brought forward, for instance a stop finished outside a push).
 */
export async function trackingViewOf(ctx: ServerContext, db: Db, link: TrackingLinkRow, now: number): Promise<TrackingView | null> {
  const stop = await db.selectFrom('stops').selectAll().where('id', '=', link.stop_id).where('location_id', '=', link.location_id).executeTakeFirst();
  if (!stop) return null;
  const status = stop.status as StopStatus;
  if ((status === 'delivered' || status === 'cancelled') && Number(stop.updated_at) + ctx.config.tracking.afterFinalMs <= now) return null;
  const location = await db.selectFrom('locations').select(['name', 'timezone']).where('id', '=', stop.location_id).executeTakeFirstOrThrow();
  const route = await db.selectFrom('routes').select(['driver_id']).where('id', '=', stop.route_id).executeTakeFirst();
  const routeStops = await db.selectFrom('stops').selectAll().where('route_id', '=', stop.route_id).where('location_id', '=', stop.location_id).execute();

  const open = isOpenStopStatus(status);
  const started = routeStops.some((s) => s.status !== 'planned' && s.status !== 'cancelled');
  const visits = open ? remainingVisits(routeStops.map((s) => ({ id: s.id, sequence: s.sequence, status: s.status as StopStatus, window: { start: s.window_start, end: s.window_end }, coordinates: null }))) : [];
  const ahead = visits.findIndex((v) => v.id === stop.id);
  const publicStatus = publicStatusOf(status, started, ahead);
  const outForDelivery = publicStatus === 'out_for_delivery' || publicStatus === 'on_the_way';

  let eta: number | null = open ? (stop.eta === null ? null : Number(stop.eta)) : null;
  let approxDistanceKm: number | null = null;
  if (open && outForDelivery && route?.driver_id) {
    const position = await db.selectFrom('positions').selectAll().where('driver_id', '=', route.driver_id).orderBy('recorded_at', 'desc').executeTakeFirst();
    const fresh = position && Number(position.recorded_at) >= now - defaultEtaSettings.positionMaxAgeMinutes * 60_000 ? position : undefined;
    if (fresh) {
      const withCoordinates = routeStops.map((s) => {
        const p = presentStop(ctx, s);
        return { id: s.id, sequence: s.sequence, status: s.status as StopStatus, window: { start: s.window_start, end: s.window_end }, coordinates: p.coordinates ?? null };
      });
      // The estimate starts from coarse inputs only (coarse.ts): the position snapped to a grid, the minute.
      eta ??= estimateRouteEtas(withCoordinates, { ...snapToGrid(fresh), recordedAt: 0 }, minuteOf(now), defaultEtaSettings).get(stop.id) ?? null;
      const own = withCoordinates.find((s) => s.id === stop.id)?.coordinates;
      if (ctx.config.tracking.coarseDistance && publicStatus === 'on_the_way' && own) {
        approxDistanceKm = Math.max(0.5, Math.round(haversineKm(fresh, own) * 2) / 2);
      }
    }
  }

  return {
    active: true,
    depot: location.name,
    timezone: location.timezone,
    status: publicStatus,
    statusText: trackingStatusText[publicStatus],
    window: { start: Number(stop.window_start), end: Number(stop.window_end) },
    eta: eta === null ? null : etaBucketOf(eta),
    pin: open ? await trackingPinOf(ctx, stop.id) : null,
    stopsBefore: outForDelivery && ahead >= 0 ? ahead : null,
    approxDistanceKm,
    asOf: minuteOf(now),
  };
}

/**
 * planned: scheduled until the route starts (any of its stops under way or done), then out for
 * delivery; en_route with no stop before it: on the way (this stop is next).
 */
function publicStatusOf(status: StopStatus, routeStarted: boolean, ahead: number): TrackingStatus {
  switch (status) {
    case 'planned': return routeStarted ? 'out_for_delivery' : 'scheduled';
    case 'en_route': return ahead <= 0 ? 'on_the_way' : 'out_for_delivery';
    case 'arrived': return 'arrived';
    case 'delivered': return 'delivered';
    case 'failed': return 'not_delivered';
    case 'cancelled': return 'cancelled';
  }
}
