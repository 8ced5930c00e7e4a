import { z } from 'zod';
import { EntityId, StopStatus, Timestamp } from './domain';
import { OrderRef } from './orders';
import { ApprovalReason } from './approvals';
import { ApprovalView, DepotRef } from './bridge-governance';
import { consentPurposes, consentSources, CustomerIdentity, CustomerRectify } from './privacy';
import { PrivacyCloseReason, PrivacyLaw, PrivacyRequestCreate, PrivacyRequestKind } from './privacy-requests';
import { LegalHoldScope, LocationRetentionClassName, locationRetentionClasses, RetentionClassName, RetentionDays, retentionClasses } from './retention';

/*
 * The Privacy screen's part of the bridge (bridge.ts lists the calls), for admins: the register of
 * data subject requests (GDPR, CCPA) with their deadlines, finding a customer's stops, the access
 * export (saved by main where the admin picks), erasure, rectification, consent and the "do not
 * sell or share" flag, and the depot's retention periods and legal holds. Customer data crosses
 * here only in the answers the screen draws and in the arguments the admin typed: main keeps it
 * in memory for the length of the call, never in the console's database or its log. Every call
 * names the depot chosen in the header; main checks the permission there before asking the
 * server, which decides again.
 */

const RecordId = z.string().min(1).max(128);
const Words = z.string().trim().min(3, 'say why, in a few words').max(1000);
const Count = z.number().int().nonnegative();

export const MaxPrivacyRequests = 500;
export const MaxCustomerStops = 500;
export const MaxLegalHolds = 500;

const Purpose = z.enum(consentPurposes);
const Source = z.enum(consentSources);

/* ---------------------------------------------------------------------------- requests */

/** A legal hold that kept some of the customer's stops from an erasure: why, and who answers for it. */
export const ConsoleHoldNotice = z.object({ scope: LegalHoldScope, location: DepotRef, reason: z.string().max(1000), owner: z.string().max(200) });
export type ConsoleHoldNotice = z.infer<typeof ConsoleHoldNotice>;

/** One step taken on a request, in words (counts only, never the customer's data). */
export const ConsolePrivacyStep = z.object({
  action: z.enum(['received', 'accessExport', 'erase', 'rectify', 'close']),
  at: Timestamp,
  by: z.string().max(256),
  /** "12 stops, 3 proofs". */
  counts: z.string().max(500),
  holds: z.array(ConsoleHoldNotice).max(50),
});
export type ConsolePrivacyStep = z.infer<typeof ConsolePrivacyStep>;

export const ConsolePrivacyRequestView = z.object({
  id: RecordId,
  kind: PrivacyRequestKind,
  law: PrivacyLaw,
  status: z.enum(['open', 'closed']),
  locations: z.array(DepotRef).max(50),
  receivedAt: Timestamp,
  /** One calendar month after receipt under the GDPR, 45 days under the CCPA (the server sets it). */
  dueAt: Timestamp,
  /** Open past its deadline, by the server's clock. */
  overdue: z.boolean(),
  reference: z.string().max(100).nullable(),
  /** Who the request is about; null once an erasure removed it (the request keeps none of the erased data). */
  subject: z.object({ customerName: z.string().max(200).nullable(), phone: z.string().max(64).nullable(), email: z.string().max(320).nullable() }).nullable(),
  subjectErasedAt: Timestamp.nullable(),
  createdBy: z.string().max(256),
  handledBy: z.string().max(256).nullable(),
  closedAt: Timestamp.nullable(),
  closeReason: PrivacyCloseReason.nullable(),
  steps: z.array(ConsolePrivacyStep).max(100),
  /** The admin may act on it here: it names only depots where they hold `privacy.manage`. */
  editable: z.boolean(),
});
export type ConsolePrivacyRequestView = z.infer<typeof ConsolePrivacyRequestView>;

/** A request as received: the server's body without its depots (the one chosen in the header). */
export const NewConsolePrivacyRequest = PrivacyRequestCreate.omit({ locationIds: true });
export type NewConsolePrivacyRequest = z.infer<typeof NewConsolePrivacyRequest>;

/** What an erasure or a rectification did, and what a legal hold kept. */
export const ConsolePrivacyOutcome = z.object({
  request: ConsolePrivacyRequestView,
  stopsFound: Count,
  stopsChanged: Count,
  heldStops: Count,
  holds: z.array(ConsoleHoldNotice).max(50),
  /** The server's words: what happened, or that nothing was found. */
  summary: z.string().max(2000),
  /** Set when nothing happened yet: the erasure deletes stops or destroys proofs and waits for a second admin. */
  approval: ApprovalView.optional(),
});
export type ConsolePrivacyOutcome = z.infer<typeof ConsolePrivacyOutcome>;

/* ---------------------------------------------------------------------------- customers */

export const ConsoleCustomerStop = z.object({
  stopId: EntityId,
  location: DepotRef,
  window: z.object({ start: Timestamp, end: Timestamp }),
  status: StopStatus,
  orderRef: OrderRef.nullable(),
  customerName: z.string().max(200).nullable(),
  address: z.string().max(500).nullable(),
  phone: z.string().max(64).nullable(),
  email: z.string().max(320).nullable(),
  matched: z.array(z.enum(['phone', 'email'])).max(2),
  /** Its contact details were removed already (retention or an erasure). */
  pseudonymised: z.boolean(),
});
export type ConsoleCustomerStop = z.infer<typeof ConsoleCustomerStop>;

export const ConsoleConsent = z.object({
  purpose: Purpose,
  granted: z.boolean(),
  source: Source,
  recordedAt: Timestamp,
  recordedBy: z.string().max(256),
});
export type ConsoleConsent = z.infer<typeof ConsoleConsent>;

export const ConsoleCustomerView = z.object({
  stops: z.array(ConsoleCustomerStop).max(MaxCustomerStops),
  /** More stops matched than are shown. */
  truncated: z.boolean(),
  /** The record in force per purpose at this depot (the latest). */
  consents: z.array(ConsoleConsent).max(consentPurposes.length),
  /** CCPA "do not sell or share": contact details go only to the integrations needed to deliver. */
  doNotSell: z.boolean(),
});
export type ConsoleCustomerView = z.infer<typeof ConsoleCustomerView>;

/* ----------------------------------------------------------------- retention and holds */

export const ConsoleRetentionClass = z.object({
  class: LocationRetentionClassName,
  days: z.number().int().positive(),
  /** The server's default; `overridden` false: the depot follows it. */
  defaultDays: z.number().int().positive(),
  overridden: z.boolean(),
  /** The most this depot may be widened to (raising needs a second admin). */
  maxDays: z.number().int().positive(),
});
export type ConsoleRetentionClass = z.infer<typeof ConsoleRetentionClass>;

export const ConsoleRetentionView = z.object({
  location: DepotRef,
  classes: z.array(ConsoleRetentionClass).max(locationRetentionClasses.length),
  /** The server's own periods (integration logs, sessions, audit), for reference. */
  global: z.array(z.object({ class: RetentionClassName, days: z.number().int().positive() })).max(retentionClasses.length),
  /** `retention.manage` at the depot. */
  canEdit: z.boolean(),
  /** `legalHold.manage` at the depot. */
  canHold: z.boolean(),
});
export type ConsoleRetentionView = z.infer<typeof ConsoleRetentionView>;

const Pending = z.object({ outcome: z.literal('pending_approval'), approval: ApprovalView });

export const RetentionChangeResult = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('applied'), retention: ConsoleRetentionView }),
  Pending,
]);
export type RetentionChangeResult = z.infer<typeof RetentionChangeResult>;

export const ConsoleLegalHold = z.object({
  id: RecordId,
  scope: LegalHoldScope,
  /** What it covers, in words: the depot, a stop by its order reference, or one customer. */
  covers: z.string().max(300),
  reason: z.string().max(1000),
  owner: z.string().max(200),
  placedBy: z.string().max(256),
  placedAt: Timestamp,
  releasedAt: Timestamp.nullable(),
  releasedBy: z.string().max(256).nullable(),
  releaseReason: z.string().max(1000).nullable(),
});
export type ConsoleLegalHold = z.infer<typeof ConsoleLegalHold>;

const HoldText = { reason: Words, owner: z.string().trim().min(2, 'name who answers for the hold').max(200) };

/** A customer hold names one phone number or one email address (two holds cover both). */
export const ConsoleHoldTarget = z.discriminatedUnion('scope', [
  z.object({ scope: z.literal('location') }).strict(),
  z.object({ scope: z.literal('stop'), stopId: EntityId }).strict(),
  z.object({ scope: z.literal('customer'), customer: CustomerIdentity })
    .refine((t) => (t.customer.phone === undefined) !== (t.customer.email === undefined), { message: 'name the customer by one phone number or one email address', path: ['customer'] }),
]);
export type ConsoleHoldTarget = z.infer<typeof ConsoleHoldTarget>;

export const SavedFileResult = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('saved'), path: z.string().max(4096), bytes: Count, stops: Count.nullable(), proofs: Count.nullable() }),
  z.object({ outcome: z.literal('cancelled') }),
]);
export type SavedFileResult = z.infer<typeof SavedFileResult>;

/* ------------------------------------------------------------------------------- calls */

const At = z.object({ locationId: EntityId });
const AtRequest = At.extend({ requestId: RecordId });

export const privacyBridgeCalls = {
  /** The register: requests naming the depot, open ones first, soonest due first; needs `privacy.manage` there. */
  privacyRequests: { args: At.extend({ includeClosed: z.boolean().optional() }).strict(), result: z.array(ConsolePrivacyRequestView).max(MaxPrivacyRequests) },
  /** Registered as received at the depot; the server sets the deadline. */
  createPrivacyRequest: { args: At.extend({ request: NewConsolePrivacyRequest }).strict(), result: ConsolePrivacyRequestView },
  closePrivacyRequest: { args: AtRequest.extend({ reason: PrivacyCloseReason }).strict(), result: ConsolePrivacyRequestView },
  /** The right of access: the server's ZIP (JSON, CSV, proof files), fetched once a place is chosen and saved there. */
  exportPrivacyAccess: { args: AtRequest.strict(), result: SavedFileResult },
  /**
   * The right to erasure for the request's customer, everywhere no legal hold stops it. `confirm`
   * is the admin's yes; `mode` delete removes the stops altogether, pseudonymise (default) keeps
   * their delivery facts without the customer.
   */
  erasePrivacyRequest: { args: AtRequest.extend({ confirm: z.literal(true), mode: z.enum(['pseudonymise', 'delete']).optional() }).strict(), result: ConsolePrivacyOutcome },
  /** Corrects the customer's details on every stop of theirs the request covers. */
  rectifyPrivacyRequest: { args: AtRequest.extend({ changes: CustomerRectify.shape.changes }).strict(), result: ConsolePrivacyOutcome },

  /** A customer's stops, consents and sharing flag at the depot, by phone or email (the server audits the search). */
  searchCustomer: { args: At.extend({ customer: CustomerIdentity }).strict(), result: ConsoleCustomerView },
  /** Consent given or withdrawn for one purpose, with how the customer told the depot. */
  recordCustomerConsent: {
    args: At.extend({ customer: CustomerIdentity, purpose: Purpose, granted: z.boolean(), source: Source }).strict(),
    result: ConsoleCustomerView,
  },
  setCustomerSharing: { args: At.extend({ customer: CustomerIdentity, doNotSell: z.boolean() }).strict(), result: ConsoleCustomerView },

  /** The depot's periods; needs `privacy.manage`, `retention.manage` or `legalHold.manage` there. */
  depotRetention: { args: At.strict(), result: ConsoleRetentionView },
  /** Lower applies at once; higher waits for a second admin, and without `reason` is refused with `approval_required`. */
  setDepotRetention: {
    args: At.extend({ class: LocationRetentionClassName, days: RetentionDays, reason: ApprovalReason.optional() }).strict(),
    result: RetentionChangeResult,
  },
  legalHolds: { args: At.extend({ includeReleased: z.boolean().optional() }).strict(), result: z.array(ConsoleLegalHold).max(MaxLegalHolds) },
  placeLegalHold: { args: At.extend({ target: ConsoleHoldTarget, ...HoldText }).strict(), result: ConsoleLegalHold },
  /** Releasing is a sensitive change: it becomes a request a second admin decides. */
  releaseLegalHold: { args: At.extend({ holdId: RecordId, reason: Words }).strict(), result: ApprovalView },
} as const satisfies Record<string, { args: z.ZodType; result: z.ZodType }>;
