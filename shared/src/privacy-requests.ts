import { z } from 'zod';
import { Address, CustomerName, EntityId, Phone, Timestamp } from './domain';
import { Email } from './orders';

/**
 * The register of data subject requests (GDPR Art. 12-21, CCPA/CPRA right to know and to delete),
 * over REST under `/api/v1/privacy/requests` (docs/api.md "Privacy requests"). Every endpoint needs
 * `privacy.manage` at every location the request names; a request naming a location the caller does
 * not manage is answered as if it did not exist.
 */

export const privacyRequestKinds = ['access', 'erasure', 'rectification', 'consent', 'objection'] as const;
export const PrivacyRequestKind = z.enum(privacyRequestKinds);
export type PrivacyRequestKind = z.infer<typeof PrivacyRequestKind>;

export const privacyLaws = ['gdpr', 'ccpa'] as const;
export const PrivacyLaw = z.enum(privacyLaws);
export type PrivacyLaw = z.infer<typeof PrivacyLaw>;

export const privacyRequestStatuses = ['open', 'closed'] as const;
export const PrivacyRequestStatus = z.enum(privacyRequestStatuses);
export type PrivacyRequestStatus = z.infer<typeof PrivacyRequestStatus>;

/**
 * Why a request was closed. `completed`: answered (an erasure with nothing kept by a hold closes
 * itself so); `refused`: a lawful refusal (manifestly unfounded, an exception applies);
 * `identityNotVerified`: the requester could not show they are the customer.
 */
export const privacyCloseReasons = ['completed', 'refused', 'withdrawn', 'identityNotVerified', 'duplicate'] as const;
export const PrivacyCloseReason = z.enum(privacyCloseReasons);
export type PrivacyCloseReason = z.infer<typeof PrivacyCloseReason>;

/** GDPR: one calendar month (Art. 12(3)); CCPA: 45 days. */
export const privacyAnswerDays = { ccpa: 45 } as const;

/**
 * When a request received at `receivedAt` must be answered: one calendar month later (UTC) under
 * the GDPR, the last day of the next month when that month is shorter (31 January -> 28 or
 * 29 February); 45 days later under the CCPA.
 */
export function privacyDueAt(law: PrivacyLaw, receivedAt: number): number {
  if (law === 'ccpa') return receivedAt + privacyAnswerDays.ccpa * 86_400_000;
  const d = new Date(receivedAt);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + 1;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const due = new Date(receivedAt);
  due.setUTCDate(1);
  due.setUTCMonth(month);
  due.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return due.getTime();
}

/** Who the request is about: the phone or the email finds the customer's stops (the blind index). */
export const PrivacySubject = z.object({
  customerName: CustomerName.optional(),
  phone: Phone.optional(),
  email: Email.optional(),
}).strict().refine((s) => s.phone !== undefined || s.email !== undefined, 'give the customer\'s phone or email: they are how the customer is found');
export type PrivacySubject = z.infer<typeof PrivacySubject>;

/** `POST /privacy/requests`: register a request as received (201). */
export const PrivacyRequestCreate = z.object({
  kind: PrivacyRequestKind,
  law: PrivacyLaw,
  /** The locations whose data the request covers (the caller needs privacy.manage at each). */
  locationIds: z.array(EntityId).min(1).max(50).refine((ids) => new Set(ids).size === ids.length, 'name each location once'),
  /** When the request reached the business (default: now); the deadline runs from here. */
  receivedAt: Timestamp.optional(),
  subject: PrivacySubject,
  /** The business's own reference (a ticket number): never personal data. */
  reference: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9 _.:#/-]+$/, 'a reference uses letters, digits and _ . : # / -').optional(),
}).strict();
export type PrivacyRequestCreate = z.infer<typeof PrivacyRequestCreate>;

/** What a hold kept back: its reason and owner, so the answer can say why. */
export const PrivacyHoldNotice = z.object({
  holdId: EntityId,
  scope: z.enum(['stop', 'customer', 'location']),
  locationId: EntityId,
  reason: z.string(),
  owner: z.string(),
});
export type PrivacyHoldNotice = z.infer<typeof PrivacyHoldNotice>;

/** One step taken on a request; counts only, never the customer's data. */
export const PrivacyRequestAction = z.object({
  action: z.enum(['received', 'accessExport', 'erase', 'rectify', 'close']),
  at: Timestamp,
  by: z.string(),
  /** Counts of what the step found or changed (stops, proofs, links, ...). */
  counts: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** Holds that kept stops from an erasure. */
  holds: z.array(PrivacyHoldNotice).optional(),
});
export type PrivacyRequestAction = z.infer<typeof PrivacyRequestAction>;

export const PrivacyRequest = z.object({
  id: EntityId,
  kind: PrivacyRequestKind,
  law: PrivacyLaw,
  locationIds: z.array(EntityId),
  status: PrivacyRequestStatus,
  receivedAt: Timestamp,
  dueAt: Timestamp,
  /** Open past its deadline (judged by the server's clock when answered). */
  overdue: z.boolean(),
  reference: z.string().nullable(),
  /** Null once an erasure removed the customer's data: the request then keeps none of it. */
  subject: z.object({
    customerName: z.string().nullable(),
    phone: z.string().nullable(),
    email: z.string().nullable(),
  }).nullable(),
  subjectErasedAt: Timestamp.nullable(),
  createdBy: z.string(),
  createdAt: Timestamp,
  /** The last admin who acted on the request. */
  handledBy: z.string().nullable(),
  updatedAt: Timestamp,
  closedAt: Timestamp.nullable(),
  closeReason: PrivacyCloseReason.nullable(),
  actions: z.array(PrivacyRequestAction),
});
export type PrivacyRequest = z.infer<typeof PrivacyRequest>;

/** `GET /privacy/requests` */
export const PrivacyRequestListQuery = z.object({
  status: PrivacyRequestStatus.optional(),
  overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(200),
}).strict();
export type PrivacyRequestListQuery = z.infer<typeof PrivacyRequestListQuery>;

/** Oldest deadline first. */
export const PrivacyRequestList = z.object({ requests: z.array(PrivacyRequest) });
export type PrivacyRequestList = z.infer<typeof PrivacyRequestList>;

/**
 * `POST /privacy/requests/:id/erase`. `pseudonymise` (default) keeps each stop's delivery facts
 * (status, times, order reference, parcels, proof metadata) and removes the customer from it;
 * `delete` removes the stops altogether. Either way proof files lose their keys, tracking links
 * go, undelivered webhook deliveries for the stops are dropped and the customer's consents and
 * sharing flag are removed. Stops under a legal hold are kept and named in `held`.
 */
export const PrivacyEraseBody = z.object({
  mode: z.enum(['pseudonymise', 'delete']).default('pseudonymise'),
  /**
   * Why, for the second admin, when the erasure needs one (it deletes stops, or destroys proofs of
   * delivery): the answer is then 202 with the `privacy.erase` approval request. Default: the request's
   * kind, law and reference.
   */
  reason: z.string().trim().min(3).max(1000).optional(),
}).strict();
export type PrivacyEraseBody = z.infer<typeof PrivacyEraseBody>;

/**
 * The `privacy.erase` approval: the erasure of a request's customer that deletes stops or destroys
 * proofs of delivery. At approval the customer is found again and holds read again, then erased.
 */
export const PrivacyEraseChange = z.object({
  requestId: EntityId,
  mode: z.enum(['pseudonymise', 'delete']),
}).strict();
export type PrivacyEraseChange = z.infer<typeof PrivacyEraseChange>;

export const PrivacyEraseResult = z.object({
  request: PrivacyRequest,
  /** Stops of the customer found at the request's locations (held ones included). */
  stopsFound: z.number().int().nonnegative(),
  stopsErased: z.number().int().nonnegative(),
  proofsDestroyed: z.number().int().nonnegative(),
  trackingLinksDeleted: z.number().int().nonnegative(),
  webhookDeliveriesDropped: z.number().int().nonnegative(),
  consentsRemoved: z.number().int().nonnegative(),
  sharingFlagsRemoved: z.number().int().nonnegative(),
  /** Stops a legal hold kept, and the holds' reasons and owners. Empty: nothing was kept. */
  held: z.object({ stops: z.number().int().nonnegative(), holds: z.array(PrivacyHoldNotice) }),
  /**
   * The identifiers the stops were looked up by (their blind index): a stop whose stored phone could
   * not be read as a number, or whose email differs from the one given, is not found.
   */
  foundBy: z.array(z.enum(['phone', 'email'])),
  /** Plain words for the admin: what happened, or that nothing was found. */
  summary: z.string(),
});
export type PrivacyEraseResult = z.infer<typeof PrivacyEraseResult>;

/** `POST /privacy/requests/:id/rectify`: the corrected values, applied to every stop of the customer. */
export const PrivacyRectifyBody = z.object({
  customerName: CustomerName.optional(),
  address: Address.optional(),
  /** Null removes the value. */
  phone: Phone.nullable().optional(),
  email: Email.nullable().optional(),
}).strict().refine((b) => Object.keys(b).length > 0, 'give at least one corrected value');
export type PrivacyRectifyBody = z.infer<typeof PrivacyRectifyBody>;

export const PrivacyRectifyResult = z.object({
  request: PrivacyRequest,
  stopsFound: z.number().int().nonnegative(),
  /** Stops changed, each with a new version so desktops update. */
  stopsChanged: z.number().int().nonnegative(),
  /** Stops found but left as they were (pseudonymised already). */
  stopsSkipped: z.number().int().nonnegative(),
  summary: z.string(),
});
export type PrivacyRectifyResult = z.infer<typeof PrivacyRectifyResult>;

/** `POST /privacy/requests/:id/close` */
export const PrivacyCloseBody = z.object({ reason: PrivacyCloseReason }).strict();
export type PrivacyCloseBody = z.infer<typeof PrivacyCloseBody>;

/**
 * `POST /privacy/requests/:id/access-export` answers a ZIP (application/zip, never cached):
 * `customer.json` (every stop, proof list, consent and sharing flag), `stops.csv` (CSV-injection
 * safe) and `proofs/<proofId>.<ext>` (the proof files, decrypted). Headers carry the counts.
 */
export const privacyExportStopCountHeader = 'X-Depotline-Stop-Count';
export const privacyExportProofCountHeader = 'X-Depotline-Proof-Count';
export const privacyAccessExportFileName = (requestId: string): string => `privacy-access-${requestId}.zip`;
