import { z } from 'zod';

/**
 * Identifiers are opaque strings chosen by whoever creates the record (the admin CLI
 * lets IT admins pick readable location ids such as `depot-north`). The pattern keeps
 * them safe to use in room names, URLs and log lines.
 */
export const EntityId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'ids use letters, digits and _ . : -');
export type EntityId = z.infer<typeof EntityId>;

/** Milliseconds since the Unix epoch, UTC. */
export const Timestamp = z.number().int().nonnegative();
export type Timestamp = z.infer<typeof Timestamp>;

export const Location = z.object({
  id: EntityId,
  name: z.string().min(1).max(200),
  timezone: z.string().min(1).max(64),
});
export type Location = z.infer<typeof Location>;

export const Driver = z.object({
  id: EntityId,
  locationId: EntityId,
  name: z.string().min(1).max(200),
  /** The driver's own login, when the driver uses the app. */
  userId: EntityId.nullable(),
  /** When a manager retired the driver: kept on past routes, never assigned again. Absent or null: active. */
  retiredAt: Timestamp.nullable().optional(),
});
export type Driver = z.infer<typeof Driver>;

export const Vehicle = z.object({
  id: EntityId,
  locationId: EntityId,
  label: z.string().min(1).max(100),
  plate: z.string().max(32),
  /** When a manager retired the vehicle: kept on past routes, never assigned again. Absent or null: active. */
  retiredAt: Timestamp.nullable().optional(),
});
export type Vehicle = z.infer<typeof Vehicle>;

/** A calendar day in the depot's own time zone, `YYYY-MM-DD`. */
export const RouteDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'dates are YYYY-MM-DD');

export const Route = z.object({
  id: EntityId,
  locationId: EntityId,
  name: z.string().min(1).max(200),
  date: RouteDate,
  driverId: EntityId.nullable(),
  vehicleId: EntityId.nullable(),
  version: z.number().int().nonnegative(),
  updatedAt: Timestamp,
  updatedBy: z.string().max(200).nullable(),
});
export type Route = z.infer<typeof Route>;

export const StopStatus = z.enum(['planned', 'en_route', 'arrived', 'delivered', 'failed', 'cancelled']);
export type StopStatus = z.infer<typeof StopStatus>;

export const TimeWindow = z
  .object({ start: Timestamp, end: Timestamp })
  .refine((w) => w.end >= w.start, 'a time window ends after it starts');
export type TimeWindow = z.infer<typeof TimeWindow>;

export const CustomerName = z.string().min(1).max(200);
export const Address = z.string().min(1).max(500);
export const Phone = z.string().regex(/^\+?[0-9 ()-]{4,32}$/, 'phone numbers use digits, spaces, ( ) - and a leading +');
export const DeliveryNotes = z.string().max(2000);

/** Customer fields of a stop the server could not verify (see `Stop.withheld`). */
export const WithheldStopFields = z.array(z.enum(['customerName', 'address', 'phone', 'notes'])).min(1);

/**
 * A stop as the server holds it. Fields marked optional are the ones a viewer may not be
 * allowed to see: the server removes them before anything is sent (see permissions.ts).
 */
export const Stop = z.object({
  id: EntityId,
  locationId: EntityId,
  routeId: EntityId,
  sequence: z.number().int().nonnegative(),
  customerName: CustomerName.optional(),
  address: Address.optional(),
  phone: Phone.nullable().optional(),
  notes: DeliveryNotes.optional(),
  /**
   * Customer fields the server holds but could not verify (their stored ciphertext does not
   * decrypt: altered or moved by someone with database access). They are left out like
   * redacted ones; this names them so a console can say so. Absent when there are none.
   */
  withheld: WithheldStopFields.optional(),
  window: TimeWindow,
  status: StopStatus,
  eta: Timestamp.nullable(),
  version: z.number().int().nonnegative(),
  updatedAt: Timestamp,
  updatedBy: z.string().max(200).nullable(),
});
export type Stop = z.infer<typeof Stop>;

/** Stop fields that only some viewers may receive. */
export type RedactableStopField = 'customerName' | 'address' | 'phone' | 'notes';

export const Latitude = z.number().min(-90).max(90);
export const Longitude = z.number().min(-180).max(180);

export const DriverPosition = z.object({
  driverId: EntityId,
  locationId: EntityId,
  lat: Latitude,
  lng: Longitude,
  headingDeg: z.number().min(0).max(360).nullable(),
  speedKmh: z.number().min(0).max(300).nullable(),
  recordedAt: Timestamp,
  version: z.number().int().nonnegative(),
});
export type DriverPosition = z.infer<typeof DriverPosition>;
