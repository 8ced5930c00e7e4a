import { z } from 'zod';
import type { StopStatus, TimeWindow } from './domain';

/** A point on the map, degrees (WGS 84), as a stop's `coordinates` and a driver position carry it. */
export interface LatLng {
  lat: number;
  lng: number;
}

/**
 * Estimated times of arrival, without a routing service: straight-line (great-circle) distance
 * from the driver's last reported position to each remaining stop in turn, stretched by a road
 * factor, driven at an average speed, plus a service time at each stop. It is an estimate for
 * spotting trouble early, not a promise: it knows nothing of roads, traffic or breaks.
 */

export const EtaSettings = z.object({
  /** Average speed between stops, km/h, stops and traffic lights included. */
  averageSpeedKmh: z.number().min(5).max(130),
  /** Minutes spent at each stop (parking, walking, hand-over). */
  serviceMinutes: z.number().min(0).max(120),
  /** Road distance over straight-line distance (1.3 is typical for towns). */
  roadFactor: z.number().min(1).max(3),
  /** A position older than this is not used: the van has moved since (no estimate instead). */
  positionMaxAgeMinutes: z.number().min(1).max(24 * 60),
}).strict();
export type EtaSettings = z.infer<typeof EtaSettings>;

export const defaultEtaSettings: EtaSettings = Object.freeze({
  averageSpeedKmh: 30,
  serviceMinutes: 4,
  roadFactor: 1.3,
  positionMaxAgeMinutes: 30,
});

/** Mean Earth radius, km (IUGG). */
const earthRadiusKm = 6371.0088;
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Great-circle distance between two points, km (haversine formula). */
export function haversineKm(a: LatLng, b: LatLng): number {
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * earthRadiusKm * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Milliseconds of driving between two points under the settings (road factor and average speed). */
export function drivingMs(a: LatLng, b: LatLng, settings: EtaSettings): number {
  return ((haversineKm(a, b) * settings.roadFactor) / settings.averageSpeedKmh) * 3_600_000;
}

/** Stops that still need the driver: not delivered, failed or cancelled. */
export function isOpenStopStatus(status: StopStatus): boolean {
  return status === 'planned' || status === 'en_route' || status === 'arrived';
}

export interface EtaStop {
  id: string;
  sequence: number;
  status: StopStatus;
  window: TimeWindow;
  /** Null when the order gave none (or the viewer may not see them): no estimate from here on. */
  coordinates: LatLng | null;
}

/** Where the driver was last seen. */
export interface EtaStart extends LatLng {
  recordedAt: number;
}

const visitRank: Readonly<Record<StopStatus, number>> = { arrived: 0, en_route: 1, planned: 2, delivered: 3, failed: 3, cancelled: 3 };

/**
 * The order the driver will take the open stops in: the stop they are at, then the one they
 * are heading to, then the planned ones in route order.
 */
export function remainingVisits<S extends EtaStop>(stops: readonly S[]): S[] {
  return stops
    .filter((s) => isOpenStopStatus(s.status))
    .sort((a, b) => visitRank[a.status] - visitRank[b.status] || a.sequence - b.sequence || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Estimated arrival at each open stop of one route, from the driver's last position, starting
 * now. Walking the stops in visit order: the stop the driver has arrived at needs no arrival
 * (the service time is still spent there); the next stop is reached after driving to it; the
 * driver waits for a window that has not opened yet, then serves the stop. A stop without
 * coordinates ends the walk: neither it nor any stop after it gets an estimate (where the
 * driver will be is unknown), so no number is ever made up.
 *
 * `now` is injected; the caller decides whether the position is fresh enough.
 */
export function estimateRouteEtas(stops: readonly EtaStop[], start: EtaStart, now: number, settings: EtaSettings): Map<string, number> {
  const etas = new Map<string, number>();
  const serviceMs = settings.serviceMinutes * 60_000;
  let at: LatLng = { lat: start.lat, lng: start.lng };
  let t = Math.max(now, start.recordedAt);
  for (const stop of remainingVisits(stops)) {
    if (stop.status === 'arrived') {
      // The driver is there: where they are is the stop (or their position, if it has no coordinates).
      if (stop.coordinates) at = stop.coordinates;
      t += serviceMs;
      continue;
    }
    if (!stop.coordinates) break;
    t += drivingMs(at, stop.coordinates, settings);
    etas.set(stop.id, Math.round(t));
    t = Math.max(t, stop.window.start) + serviceMs;
    at = stop.coordinates;
  }
  return etas;
}
