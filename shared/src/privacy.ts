import { z } from 'zod';
import { Address, CustomerName, EntityId, Phone } from './domain';
import { Email } from './orders';

/**
 * Customer privacy (docs/api.md "Customer privacy"): finding a customer's stops by phone or
 * email through the blind index, correcting their details everywhere, consent per purpose and
 * the do-not-sell-or-share flag. Every body carries the customer's contact details in the POST
 * body, never in a URL, so they do not reach access logs or browser history.
 */

/** What the product may contact a customer for; each is consented (or withdrawn) on its own. */
export const consentPurposes = ['deliveryNotifications', 'trackingSms', 'trackingEmail'] as const;
export type ConsentPurpose = (typeof consentPurposes)[number];

/** How the customer told the depot. Free text is not accepted: it would become a place for PII. */
export const consentSources = ['web', 'phone', 'email', 'inPerson', 'paper', 'integration'] as const;
export type ConsentSource = (typeof consentSources)[number];

/** Which of the customer's identifiers matched a stop or a record. */
export const customerMatchKinds = ['phone', 'email'] as const;
export type CustomerMatchKind = (typeof customerMatchKinds)[number];

/** Who a request is about: a phone number (any common format), an email, or both. */
export const CustomerIdentity = z
  .object({ phone: Phone.optional(), email: Email.optional() })
  .strict()
  .refine((c) => c.phone !== undefined || c.email !== undefined, 'give the customer\'s phone, email or both');
export type CustomerIdentity = z.infer<typeof CustomerIdentity>;

/** Which locations to look in: the caller's locations with privacy.manage when left out. */
const LocationScope = z.array(EntityId).min(1).max(200).optional();

export const CustomerSearch = z.object({ customer: CustomerIdentity, locationIds: LocationScope }).strict();
export type CustomerSearch = z.infer<typeof CustomerSearch>;

/** One stop of the customer, decrypted for the admin who searched (the search is audited, its values are not). */
export const CustomerStopView = z.object({
  stopId: EntityId,
  locationId: EntityId,
  routeId: EntityId,
  orderRef: z.string().nullable(),
  status: z.string(),
  window: z.object({ start: z.number().int(), end: z.number().int() }),
  customerName: z.string().nullable(),
  address: z.string().nullable(),
  phone: z.string().nullable(),
  email: z.string().nullable(),
  matched: z.array(z.enum(customerMatchKinds)),
  pseudonymised: z.boolean(),
});
export type CustomerStopView = z.infer<typeof CustomerStopView>;

export const ConsentView = z.object({
  id: EntityId,
  locationId: EntityId,
  purpose: z.enum(consentPurposes),
  granted: z.boolean(),
  source: z.enum(consentSources),
  recordedAt: z.number().int(),
  recordedBy: z.string(),
  matched: z.enum(customerMatchKinds),
});
export type ConsentView = z.infer<typeof ConsentView>;

export const SharingView = z.object({
  locationId: EntityId,
  doNotSell: z.boolean(),
  updatedAt: z.number().int(),
  updatedBy: z.string(),
  matched: z.enum(customerMatchKinds),
});
export type SharingView = z.infer<typeof SharingView>;

export const CustomerSearchResult = z.object({
  stops: z.array(CustomerStopView),
  /** Every consent record, newest first: the latest per location and purpose is the one in force. */
  consents: z.array(ConsentView),
  sharing: z.array(SharingView),
  /** True when more stops matched than one answer carries (narrow by location). */
  truncated: z.boolean(),
});
export type CustomerSearchResult = z.infer<typeof CustomerSearchResult>;

/** The most stops one search, rectification or export covers. */
export const customerStopLimit = 5000;

export const CustomerRectify = z.object({
  customer: CustomerIdentity,
  locationIds: LocationScope,
  changes: z
    .object({ customerName: CustomerName, address: Address, phone: Phone.nullable(), email: Email.nullable() })
    .partial()
    .strict()
    .refine((c) => Object.keys(c).length > 0, 'at least one field changes'),
}).strict();
export type CustomerRectify = z.infer<typeof CustomerRectify>;

export const CustomerRectified = z.object({
  /** The stops changed (each with a new version, so desktops update), and those left as they were. */
  changed: z.array(EntityId),
  /** Stops found but not changed: pseudonymised already, or under a legal hold's erasure-only rule (none today). */
  skipped: z.array(EntityId),
});
export type CustomerRectified = z.infer<typeof CustomerRectified>;

export const ConsentRecordInput = z.object({
  customer: CustomerIdentity,
  locationId: EntityId,
  purpose: z.enum(consentPurposes),
  granted: z.boolean(),
  source: z.enum(consentSources),
  /** When the customer gave or withdrew it (ms since the epoch), if not now; never in the future. */
  givenAt: z.number().int().positive().optional(),
}).strict();
export type ConsentRecordInput = z.infer<typeof ConsentRecordInput>;

export const ConsentRecorded = z.object({ consents: z.array(ConsentView) });
export type ConsentRecorded = z.infer<typeof ConsentRecorded>;

export const SharingInput = z.object({ customer: CustomerIdentity, locationId: EntityId, doNotSell: z.boolean() }).strict();
export type SharingInput = z.infer<typeof SharingInput>;

export const SharingRecorded = z.object({ sharing: z.array(SharingView) });
export type SharingRecorded = z.infer<typeof SharingRecorded>;

/** The answer to `privacy reindex`: stops whose blind index was (re)computed. */
export const ReindexResult = z.object({ stops: z.number().int().nonnegative() });
export type ReindexResult = z.infer<typeof ReindexResult>;
