import type { Coordinates, GpsStamp } from '@depotline/shared';
import type { ServerContext } from '../context';
import { fieldAad } from '../crypto/field-cipher';

/**
 * The distance check of a GPS stamp: how far the device was from the stop's coordinates. Farther
 * than the policy (DEPOTLINE_POD_MAX_DISTANCE_M) marks the proof suspicious; farther than
 * `implausibleDistanceM` is no handover at this stop at all (a spoofed or broken position, or the
 * wrong stop): refused, nothing stored, the attempt alerted.
 */
export const implausibleDistanceM = 100_000;

const earthRadiusM = 6_371_008.8;
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Great-circle (haversine) distance in metres, rounded to the metre. */
export function distanceMetres(a: Coordinates, b: Coordinates): number {
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return Math.round(2 * earthRadiusM * Math.asin(Math.min(1, Math.sqrt(h))));
}

/** The stop's coordinates, or null (none recorded, or they do not decrypt: then no distance is judged). */
export function stopCoordinates(ctx: ServerContext, stop: { id: string; coordinates_enc: string | null }): Coordinates | null {
  if (stop.coordinates_enc === null) return null;
  const opened = ctx.cipher.tryDecrypt(stop.coordinates_enc, fieldAad('stops', 'coordinates', stop.id));
  if (!opened.ok) return null;
  const [lat, lng] = opened.value.split(',').map(Number);
  return lat !== undefined && lng !== undefined && Number.isFinite(lat) && Number.isFinite(lng) ? { lat, lng } : null;
}

export interface DistanceJudgement {
  distanceM: number | null;
  suspicious: boolean;
  implausible: boolean;
}

export function judgeDistance(ctx: ServerContext, stop: { id: string; coordinates_enc: string | null }, gps: GpsStamp | null): DistanceJudgement {
  const at = gps ? stopCoordinates(ctx, stop) : null;
  if (!gps || !at) return { distanceM: null, suspicious: false, implausible: false };
  const distanceM = distanceMetres(at, gps);
  return { distanceM, suspicious: distanceM > ctx.config.proofs.maxDistanceM, implausible: distanceM > implausibleDistanceM };
}
