import type { Driver, DriverPosition, EncryptedStopField, FailureReason, Route, Stop, StopStatus, Vehicle } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { ServerContext } from '../context';
import type { Database } from '../db/schema';
import { handoverOf } from '../proofs/handover';
import { readStopPii } from './stop-pii';
import { reportWithheldStop } from './withheld-stops';

/**
 * Rows as the shared contract describes them. A presented stop is decrypted: redact it for the
 * viewer (visibility.ts) before it leaves the server.
 */

export type StopRow = Selectable<Database['stops']>;
export type RouteRow = Selectable<Database['routes']>;
export type DriverRow = Selectable<Database['drivers']>;
export type VehicleRow = Selectable<Database['vehicles']>;

/**
 * A customer field whose stored value does not decrypt is withheld: left out, as redaction
 * leaves fields out, and named in `withheld`; the stop is reported (withheld-stops.ts) and
 * everything else about it is served. Every reader of stops (pull, live feed, REST, exports)
 * presents them here, so none fails because of one tampered value.
 */
export function presentStop(ctx: ServerContext, row: StopRow): Stop {
  const { pii, withheld } = readStopPii(ctx, row);
  const withheldFields = Object.keys(withheld) as EncryptedStopField[];
  if (withheldFields.length > 0) reportWithheldStop(ctx, { id: row.id, locationId: row.location_id }, withheld);
  return {
    id: row.id,
    locationId: row.location_id,
    routeId: row.route_id,
    sequence: row.sequence,
    ...pii,
    orderRef: row.order_ref,
    parcelCount: row.parcel_count,
    barcodes: parseBarcodes(row.barcodes),
    minimumAge: row.minimum_age,
    idCheck: row.id_check === 1,
    pinRequired: row.pin_required === 1,
    handover: handoverOf(row),
    codAmount: row.cod_amount,
    deliveryFee: row.delivery_fee,
    currency: row.currency,
    failureReason: row.failure_reason as FailureReason | null,
    ...(withheldFields.length > 0 ? { withheld: withheldFields } : {}),
    ...(row.pseudonymised_at !== null ? { pseudonymised: true } : {}),
    window: { start: row.window_start, end: row.window_end },
    status: row.status as StopStatus,
    eta: row.eta,
    version: row.version,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

function parseBarcodes(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((b): b is string => typeof b === 'string') : [];
}

export function presentRoute(row: RouteRow): Route {
  return {
    id: row.id,
    locationId: row.location_id,
    name: row.name,
    date: row.date,
    driverId: row.driver_id,
    vehicleId: row.vehicle_id,
    version: row.version,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

export function presentDriver(row: Selectable<Database['drivers']>): Driver {
  return { id: row.id, locationId: row.location_id, name: row.name, userId: row.user_id, retiredAt: row.retired_at };
}

export function presentVehicle(row: Selectable<Database['vehicles']>): Vehicle {
  return { id: row.id, locationId: row.location_id, label: row.label, plate: row.plate, retiredAt: row.retired_at };
}

export function presentPosition(row: Selectable<Database['positions']>): DriverPosition {
  return {
    driverId: row.driver_id,
    locationId: row.location_id,
    lat: row.lat,
    lng: row.lng,
    headingDeg: row.heading_deg,
    speedKmh: row.speed_kmh,
    recordedAt: row.recorded_at,
    version: row.version,
  };
}
