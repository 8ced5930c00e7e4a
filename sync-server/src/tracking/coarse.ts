import type { LatLng } from '@depotline/shared';

/**
 * Coarsening for the public tracking view (view.ts): what the page shows must not tell the
 * driver's position, so the times it sends are steps and the ETA is estimated from coarse
 * inputs. Polling the page then gives the driver's distance no better than a few kilometres:
 * the position is snapped to a grid of `gridKm` before the estimate, the estimate starts at the
 * minute, and the ETA sent is rounded to `etaStepMs` (15 minutes of driving is several km).
 */

export const etaStepMs = 15 * 60_000;
export const gridKm = 2;
const kmPerDegreeLat = 111.32;

/** The minute `t` falls in (ms since the epoch). */
export const minuteOf = (t: number) => Math.floor(t / 60_000) * 60_000;

/** An ETA rounded to the nearest 15-minute step. */
export const etaBucketOf = (t: number) => Math.round(t / etaStepMs) * etaStepMs;

/** The centre of the `gridKm` cell the point lies in (cells about square at the point's latitude). */
export function snapToGrid(p: LatLng): LatLng {
  const latStep = gridKm / kmPerDegreeLat;
  const lat = Math.round(p.lat / latStep) * latStep;
  const lngStep = latStep / Math.max(0.1, Math.cos((lat * Math.PI) / 180));
  return { lat, lng: Math.round(p.lng / lngStep) * lngStep };
}
