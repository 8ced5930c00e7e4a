import { z } from 'zod';
import { EntityId, Timestamp } from './domain';

/* ----------------------------------------------------------------------------------------
 * Retention (docs/security-model.md, "Retention and legal holds").
 *
 * Every table and file that holds delivery or customer data belongs to one retention class with
 * its own period. The server's configuration sets each class's default and, for the classes a
 * location may set, the most it may be widened to; a location narrows at once, widens only with a
 * second person's approval (`retention.widen`). A legal hold suspends purge and erasure for what it
 * covers until it is released (`legalHold.release`, also with a second person).
 * -------------------------------------------------------------------------------------- */

export const retentionClasses = ['contact', 'delivery', 'proof', 'trackingLink', 'positionHistory',
  'integrationLog', 'session', 'audit'] as const;
export type RetentionClass = (typeof retentionClasses)[number];
export const RetentionClassName = z.enum(retentionClasses);

/** The classes each location may set for itself; the others are server-wide. */
export const locationRetentionClasses = ['contact', 'delivery', 'proof', 'trackingLink', 'positionHistory'] as const;
export type LocationRetentionClass = (typeof locationRetentionClasses)[number];
export const LocationRetentionClassName = z.enum(locationRetentionClasses);

export function isLocationRetentionClass(c: string): c is LocationRetentionClass {
  return (locationRetentionClasses as readonly string[]).includes(c);
}

/** No period is shorter than a day or longer than ten years. */
export const retentionDaysFloor = 1;
export const retentionDaysCeiling = 3650;
/** The audit log is kept at least a year, whatever is configured. */
export const auditRetentionDaysFloor = 365;

export const RetentionDays = z.number().int('a whole number of days')
  .min(retentionDaysFloor, `at least ${retentionDaysFloor} day`)
  .max(retentionDaysCeiling, `at most ${retentionDaysCeiling} days (ten years)`);

/**
 * Each class: its environment variables (`DEPOTLINE_RETENTION_<NAME>_DAYS`, and `_MAX_DAYS` for a
 * location class), the default period, the default most a location may widen to, and what the
 * age of a record counts from.
 */
export interface RetentionClassSpec {
  readonly envName: string;
  readonly defaultDays: number;
  /** Location classes only: the default of `DEPOTLINE_RETENTION_<NAME>_MAX_DAYS`. */
  readonly defaultMaxDays: number | null;
  readonly minDays: number;
  /** What the age counts from, in words (docs and screens). */
  readonly agedFrom: string;
  /** What the class holds, in words. */
  readonly holds: string;
}

export const retentionClassSpecs: Readonly<Record<RetentionClass, RetentionClassSpec>> = {
  contact: { envName: 'CONTACT', defaultDays: 90, defaultMaxDays: 365, minDays: 1, agedFrom: 'the end of the stop\u2019s time window', holds: 'customer contact details (name, address, phone, email, notes): the stop is pseudonymised' },
  delivery: { envName: 'DELIVERY', defaultDays: 730, defaultMaxDays: 3650, minDays: 1, agedFrom: 'the end of the stop\u2019s time window', holds: 'delivery records (the stop itself): deleted' },
  proof: { envName: 'PROOF', defaultDays: 180, defaultMaxDays: 730, minDays: 1, agedFrom: 'the proof\u2019s capture', holds: 'proof-of-delivery files: their keys are destroyed' },
  trackingLink: { envName: 'TRACKING_LINK', defaultDays: 30, defaultMaxDays: 90, minDays: 1, agedFrom: 'the link\u2019s expiry', holds: 'customer tracking links and their view counts' },
  positionHistory: { envName: 'POSITION_HISTORY', defaultDays: 30, defaultMaxDays: 90, minDays: 1, agedFrom: 'the position\u2019s time', holds: 'driver location history' },
  integrationLog: { envName: 'INTEGRATION_LOG', defaultDays: 90, defaultMaxDays: null, minDays: 1, agedFrom: 'the call or attempt', holds: 'integration API calls and webhook attempts' },
  session: { envName: 'SESSION', defaultDays: 30, defaultMaxDays: null, minDays: 1, agedFrom: 'the session\u2019s end (revoked or expired)', holds: 'ended sessions and their refresh tokens' },
  audit: { envName: 'AUDIT', defaultDays: 2555, defaultMaxDays: null, minDays: auditRetentionDaysFloor, agedFrom: 'the entry', holds: 'the audit log (no customer data)' },
};

/** The field of `LocationRetention` that holds each location class's period. */
export const retentionDaysField = {
  contact: 'contactDays',
  delivery: 'deliveryDays',
  proof: 'proofDays',
  trackingLink: 'trackingLinkDays',
  positionHistory: 'positionHistoryDays',
} as const satisfies Record<LocationRetentionClass, string>;
export type RetentionDaysField = (typeof retentionDaysField)[LocationRetentionClass];

/**
 * The effective periods of one location, in days. Desktops receive it with their locations
 * (`LocationAccess.retention`) and apply the contact and delivery periods locally, offline too.
 */
export const LocationRetention = z.object({
  contactDays: RetentionDays,
  deliveryDays: RetentionDays,
  proofDays: RetentionDays,
  trackingLinkDays: RetentionDays,
  positionHistoryDays: RetentionDays,
});
export type LocationRetention = z.infer<typeof LocationRetention>;

/** Days of one location class in a `LocationRetention`. */
export function retentionDaysOf(r: LocationRetention, c: LocationRetentionClass): number {
  return r[retentionDaysField[c]];
}

/** Some periods of a location, at least one: a change (`PUT`) or a widening waiting for approval. */
export const LocationRetentionChange = LocationRetention.partial().strict()
  .refine((r) => Object.values(r).some((d) => d !== undefined), 'name at least one period');
export type LocationRetentionChange = z.infer<typeof LocationRetentionChange>;

/** One class as the server is configured: `GET /retention`. */
export const RetentionClassSetting = z.object({
  class: RetentionClassName,
  defaultDays: z.number().int(),
  /** The most a location may widen to; null for server-wide classes. */
  maxDays: z.number().int().nullable(),
  minDays: z.number().int(),
  perLocation: z.boolean(),
  agedFrom: z.string(),
  holds: z.string(),
});
export type RetentionClassSetting = z.infer<typeof RetentionClassSetting>;
export const RetentionSettingsView = z.object({ classes: z.array(RetentionClassSetting) });
export type RetentionSettingsView = z.infer<typeof RetentionSettingsView>;

/** `GET /locations/:locationId/retention`: the effective periods and what the location set itself. */
export const LocationRetentionView = z.object({
  locationId: EntityId,
  effective: LocationRetention,
  /** The periods the location set (others follow the server default). */
  overrides: LocationRetention.partial(),
  /** The most each period may be widened to. */
  maxDays: LocationRetention,
});
export type LocationRetentionView = z.infer<typeof LocationRetentionView>;

const reasonText = z.string().trim().min(3, 'say why, in a few words').max(1000);

/**
 * `PUT /locations/:locationId/retention`: narrowing applies at once; widening (a period above the
 * location's current one) waits for a second person's approval and needs `reason`.
 */
export const LocationRetentionUpdate = z.object({
  contactDays: RetentionDays.optional(),
  deliveryDays: RetentionDays.optional(),
  proofDays: RetentionDays.optional(),
  trackingLinkDays: RetentionDays.optional(),
  positionHistoryDays: RetentionDays.optional(),
  reason: reasonText.optional(),
}).strict();
export type LocationRetentionUpdate = z.infer<typeof LocationRetentionUpdate>;

/** `retention.widen`: raise some periods of one location above their current value. */
export const RetentionWidenChange = z.object({ locationId: EntityId, days: LocationRetentionChange }).strict();
export type RetentionWidenChange = z.infer<typeof RetentionWidenChange>;

/* --- legal holds --- */

export const legalHoldScopes = ['stop', 'customer', 'location'] as const;
export const LegalHoldScope = z.enum(legalHoldScopes);
export type LegalHoldScope = z.infer<typeof LegalHoldScope>;

const holdReason = z.string().trim().min(3, 'say why, in a few words').max(1000);
/** Who answers for the hold (a person or team, e.g. "Legal: claims desk"). */
const holdOwner = z.string().trim().min(2, 'name who answers for the hold').max(200);

/**
 * `POST /locations/:locationId/legal-holds`. A customer hold names the customer by one phone
 * number or one email address; it covers every stop at the location with that contact (found by
 * its blind index, so the value itself is not stored). To cover both, place two holds.
 */
export const LegalHoldCreate = z.discriminatedUnion('scope', [
  z.object({ scope: z.literal('location'), reason: holdReason, owner: holdOwner }).strict(),
  z.object({ scope: z.literal('stop'), stopId: EntityId, reason: holdReason, owner: holdOwner }).strict(),
  z.object({
    scope: z.literal('customer'),
    phone: z.string().trim().min(3).max(64).optional(),
    email: z.string().trim().min(3).max(320).optional(),
    reason: holdReason,
    owner: holdOwner,
  }).strict().refine((c) => (c.phone === undefined) !== (c.email === undefined), 'name the customer by one phone number or one email address'),
]);
export type LegalHoldCreate = z.infer<typeof LegalHoldCreate>;

export const LegalHold = z.object({
  id: EntityId,
  scope: LegalHoldScope,
  locationId: EntityId,
  stopId: EntityId.nullable(),
  reason: z.string(),
  owner: z.string(),
  placedBy: z.string(),
  placedAt: Timestamp,
  releasedAt: Timestamp.nullable(),
  releasedBy: z.string().nullable(),
  releaseReason: z.string().nullable(),
});
export type LegalHold = z.infer<typeof LegalHold>;

export const LegalHoldList = z.object({ holds: z.array(LegalHold) });
export type LegalHoldList = z.infer<typeof LegalHoldList>;

/** `GET /locations/:locationId/legal-holds?active=true`: only holds not released. */
export const LegalHoldListQuery = z.object({ active: z.enum(['true', 'false']).optional() }).strict();

/** `POST /legal-holds/:holdId/release`: always through a second person's approval (202). */
export const LegalHoldReleaseRequest = z.object({ reason: holdReason }).strict();
export type LegalHoldReleaseRequest = z.infer<typeof LegalHoldReleaseRequest>;

/** `legalHold.release`: end one hold. */
export const LegalHoldReleaseChange = z.object({ holdId: EntityId, reason: holdReason }).strict();
export type LegalHoldReleaseChange = z.infer<typeof LegalHoldReleaseChange>;
