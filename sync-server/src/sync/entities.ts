import type { Driver, DriverPosition, Route, Stop, StopStatus, Vehicle } from '@depotline/shared';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { ServerContext } from '../context';
import { fieldAad } from '../crypto/field-cipher';
import type { Database } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;
export type StopRow = Selectable<Database['stops']>;
export type RouteRow = Selectable<Database['routes']>;

/** Encrypts the PII columns of a stop; the associated data binds each value to its row. */
export function encryptStopPii(ctx: ServerContext, stopId: string, pii: { customerName?: string; address?: string; phone?: string | null; notes?: string }) {
  const out: Partial<Pick<StopRow, 'customer_name_enc' | 'address_enc' | 'phone_enc' | 'notes_enc'>> = {};
  if (pii.customerName !== undefined) out.customer_name_enc = ctx.cipher.encrypt(pii.customerName, fieldAad('stops', 'customer_name', stopId));
  if (pii.address !== undefined) out.address_enc = ctx.cipher.encrypt(pii.address, fieldAad('stops', 'address', stopId));
  if (pii.phone !== undefined) out.phone_enc = ctx.cipher.encryptNullable(pii.phone, fieldAad('stops', 'phone', stopId));
  if (pii.notes !== undefined) out.notes_enc = ctx.cipher.encrypt(pii.notes, fieldAad('stops', 'notes', stopId));
  return out;
}

/** The full, decrypted stop. Redact it for the viewer before it leaves the server. */
export function presentStop(ctx: ServerContext, row: StopRow): Stop {
  return {
    id: row.id,
    locationId: row.location_id,
    routeId: row.route_id,
    sequence: row.sequence,
    customerName: ctx.cipher.decrypt(row.customer_name_enc, fieldAad('stops', 'customer_name', row.id)),
    address: ctx.cipher.decrypt(row.address_enc, fieldAad('stops', 'address', row.id)),
    phone: ctx.cipher.decryptNullable(row.phone_enc, fieldAad('stops', 'phone', row.id)),
    notes: ctx.cipher.decrypt(row.notes_enc, fieldAad('stops', 'notes', row.id)),
    window: { start: row.window_start, end: row.window_end },
    status: row.status as StopStatus,
    eta: row.eta,
    version: row.version,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
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
  return { id: row.id, locationId: row.location_id, name: row.name, userId: row.user_id };
}

export function presentVehicle(row: Selectable<Database['vehicles']>): Vehicle {
  return { id: row.id, locationId: row.location_id, label: row.label, plate: row.plate };
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

/** Ids of the driver records that belong to this user at this location. */
export async function driverIdsOfUser(db: Q, userId: string, locationId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('drivers').select('id').where('user_id', '=', userId).where('location_id', '=', locationId).execute();
  return new Set(rows.map((r) => r.id));
}

/** The user id of the driver assigned to a route, if that driver signs in. */
export async function driverUserOfRoute(db: Q, routeId: string): Promise<string | null> {
  const row = await db
    .selectFrom('routes')
    .innerJoin('drivers', 'drivers.id', 'routes.driver_id')
    .select('drivers.user_id')
    .where('routes.id', '=', routeId)
    .executeTakeFirst();
  return row?.user_id ?? null;
}
