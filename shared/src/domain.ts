import { z } from 'zod';
import {
  Barcodes, CurrencyCode, Email, FailureNote, FailureReason, MinimumAge, MinorAmount, OrderRef, ParcelCount, PaymentRef, PinRequired,
} from './orders';
import { StopHandover } from './delivery-checks';

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

export const Latitude = z.number().min(-90).max(90);
export const Longitude = z.number().min(-180).max(180);
/** Where a stop is, when the order says so: a map and distance checks without geocoding. */
export const Coordinates = z.object({ lat: Latitude, lng: Longitude }).strict();
export type Coordinates = z.infer<typeof Coordinates>;

/** The stop fields stored encrypted: a value that does not decrypt is withheld (see `Stop.withheld`). */
export const encryptedStopFields = ['customerName', 'address', 'coordinates', 'phone', 'email', 'notes', 'failureNote', 'paymentRef'] as const;
export type EncryptedStopField = (typeof encryptedStopFields)[number];
/** Customer fields of a stop the server could not verify (see `Stop.withheld`). */
export const WithheldStopFields = z.array(z.enum(encryptedStopFields)).min(1);

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
  /** The shop's order reference, unique per location; null on stops made without one. */
  orderRef: OrderRef.nullable(),
  parcelCount: ParcelCount,
  /** The parcel labels expected at hand-over. */
  barcodes: Barcodes,
  /** Where the stop is (stop.readCustomer, like the address); null when the order did not say. */
  coordinates: Coordinates.nullable().optional(),
  /** The customer's email (stop.readPhone: contact details). */
  email: Email.nullable().optional(),
  /** Regulated goods: the recipient must prove this age (null: no age check). */
  minimumAge: MinimumAge.nullable(),
  /** Regulated goods: the recipient must show an ID. */
  idCheck: z.boolean(),
  /**
   * The customer must give the stop's delivery PIN at the door (the PIN itself never leaves the
   * server here). Absent: no PIN (a stop from an older server or cache).
   */
  pinRequired: PinRequired.optional(),
  /** What was done at the door so far: PIN verified or locked, passing check recorded. Absent: nothing yet. */
  handover: StopHandover.optional(),
  /** Billing (stop.readBilling only): the payment reference, amounts in minor units of `currency`. */
  paymentRef: PaymentRef.nullable().optional(),
  /** Amount to collect on delivery (cash or card at the door); null: nothing to collect. */
  codAmount: MinorAmount.nullable().optional(),
  deliveryFee: MinorAmount.nullable().optional(),
  currency: CurrencyCode.nullable().optional(),
  /** Why the delivery failed, set with status `failed` and cleared when the stop leaves it. */
  failureReason: FailureReason.nullable(),
  /** The free-text note that came with the failure reason (stop.readNotes, like delivery notes). */
  failureNote: FailureNote.nullable().optional(),
  /**
   * Customer fields the server holds but could not verify (their stored ciphertext does not
   * decrypt: altered or moved by someone with database access). They are left out like
   * redacted ones; this names them so a console can say so. Absent when there are none.
   */
  withheld: WithheldStopFields.optional(),
  /**
   * The stop lost its customer's identity (contact details past their retention period, or an
   * erasure): name, address, phone, email, notes, coordinates, payment reference and failure note
   * are gone for good, not redacted; a copy holding them drops them. Absent: not pseudonymised.
   */
  pseudonymised: z.boolean().optional(),
  /**
   * A legal hold covers the stop (its own, its customer's or its location's): nothing of it is
   * purged or erased while it lasts, and a console's local retention sweep leaves it alone too.
   * Set by the server in the pull, the live feed and refusals; absent: not held.
   */
  held: z.boolean().optional(),
  window: TimeWindow,
  status: StopStatus,
  eta: Timestamp.nullable(),
  version: z.number().int().nonnegative(),
  updatedAt: Timestamp,
  updatedBy: z.string().max(200).nullable(),
});
export type Stop = z.infer<typeof Stop>;

/** Stop fields that only some viewers may receive (each revealed by one permission, permissions.ts). */
export const redactableStopFields = [
  'customerName', 'address', 'coordinates', 'phone', 'email', 'notes', 'failureNote',
  'paymentRef', 'codAmount', 'deliveryFee', 'currency',
] as const;
export type RedactableStopField = (typeof redactableStopFields)[number];

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
