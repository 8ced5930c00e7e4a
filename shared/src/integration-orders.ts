import { z } from 'zod';
import { Address, Coordinates, CustomerName, DeliveryNotes, EntityId, Phone, StopStatus, Timestamp } from './domain';
import { IntegrationStopView } from './integrations';
import { Barcodes, CurrencyCode, Email, FailureReason, MinimumAge, MinorAmount, OrderRef, ParcelCount, PaymentRef } from './orders';

/*
 * The integration API's orders (docs/api.md, "Integration API"): what a shop sends to create or
 * update an order at a location, and what an integration reads back. An order becomes a stop,
 * through the same handlers a console's edits and an import go through; every answer is the stop
 * cut to the integration's data profile (`IntegrationStopView`).
 */

/** The longest time window an order may ask for. */
export const maxOrderWindowMs = 7 * 24 * 60 * 60 * 1000;

/** The route that holds a day's orders sent without a route, created on that day's first such order. */
export const unplannedRouteName = 'Unplanned';

/** A moment: milliseconds since the epoch, or an RFC 3339 date-time with its offset (`2026-12-01T09:30:00+01:00`). */
export const OrderTime = z.union([
  Timestamp,
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
], { error: 'a time is milliseconds since the epoch or an RFC 3339 date-time with its offset, e.g. 2026-12-01T09:30:00+01:00' }).meta({ description: 'Milliseconds since the Unix epoch, or an RFC 3339 date-time with its offset.' });

export const OrderWindow = z.object({ start: OrderTime, end: OrderTime }).strict()
  .refine((w) => w.end >= w.start, { message: 'the window ends after it starts', path: ['end'] })
  .refine((w) => w.end - w.start <= maxOrderWindowMs, { message: 'a window is at most 7 days long', path: ['end'] })
  .meta({ id: 'OrderWindow', description: 'When the delivery may happen.' });

/** Where the order goes: a route at the location (by id, or by name on the window\'s day). Omitted: the day\'s unplanned list. */
export const OrderRoute = z.union([
  z.object({ id: EntityId }).strict(),
  z.object({ name: z.string().trim().min(1).max(200) }).strict(),
]).meta({ id: 'OrderRoute', description: 'A route that exists at the location: by id, or by name among the routes of the window\'s day (in the depot\'s time zone).' });

export const OrderBilling = z.object({
  paymentRef: PaymentRef.nullable().default(null),
  codAmount: MinorAmount.nullable().default(null),
  deliveryFee: MinorAmount.nullable().default(null),
  currency: CurrencyCode.nullable().default(null),
}).strict().meta({ id: 'OrderBilling', description: 'Amounts in minor units of `currency`. Accepted only from integrations whose data profile includes billing.' });

/** `POST /locations/:locationId/orders`. */
export const OrderCreate = z.object({
  orderRef: OrderRef,
  customerName: CustomerName,
  address: Address,
  coordinates: Coordinates.nullable().default(null),
  phone: Phone.nullable().default(null),
  email: Email.nullable().default(null),
  notes: DeliveryNotes.default(''),
  timeWindow: OrderWindow,
  parcelCount: ParcelCount.default(1),
  barcodes: Barcodes.default([]),
  minimumAge: MinimumAge.nullable().default(null),
  idCheck: z.boolean().default(false),
  /** The customer must give a delivery PIN at the door; the server makes it and shows it on the tracking page. */
  pinRequired: z.boolean().default(false),
  billing: OrderBilling.optional(),
  route: OrderRoute.optional(),
}).strict().meta({ id: 'OrderCreate' });
export type OrderCreate = z.infer<typeof OrderCreate>;

/** `PATCH /locations/:locationId/orders/:orderRef`: the fields given replace the order's, while it is still planned. */
export const OrderUpdate = z.object({
  customerName: CustomerName.optional(),
  address: Address.optional(),
  coordinates: Coordinates.nullable().optional(),
  phone: Phone.nullable().optional(),
  email: Email.nullable().optional(),
  notes: DeliveryNotes.optional(),
  timeWindow: OrderWindow.optional(),
  parcelCount: ParcelCount.optional(),
  barcodes: Barcodes.optional(),
  minimumAge: MinimumAge.nullable().optional(),
  idCheck: z.boolean().optional(),
  pinRequired: z.boolean().optional(),
  billing: OrderBilling.optional(),
}).strict().refine((u) => Object.keys(u).length > 0, 'name at least one field to change').meta({ id: 'OrderUpdate' });
export type OrderUpdate = z.infer<typeof OrderUpdate>;

/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header): the same key
 * with the same request is answered as the first time, and makes nothing new.
 */
export const IdempotencyKey = z.string().min(1).max(255).regex(/^[\x21-\x7E]+$/, 'idempotency keys are printable ASCII without spaces');
export const OrderCreateHeaders = z.object({
  'idempotency-key': IdempotencyKey.optional().meta({
    description: 'Makes a retried create harmless: the same key with the same body is answered with the same order for 24 hours; with another body it is refused (422).',
  }),
});

export const OrderAnswer = z.object({ order: IntegrationStopView }).meta({ id: 'OrderAnswer' });
export type OrderAnswer = z.infer<typeof OrderAnswer>;

/** The most orders one batch create carries. */
export const maxOrderBatch = 100;

/**
 * `POST /locations/:locationId/orders/batch`: up to `maxOrderBatch` orders in one request and one
 * transaction, each with its own optional idempotency key (the same key and order as a single
 * create would send: a retry either way is answered as the first time).
 */
export const OrderBatch = z.object({
  orders: z.array(z.object({ idempotencyKey: IdempotencyKey.optional(), order: OrderCreate }).strict()).min(1).max(maxOrderBatch),
}).strict().meta({ id: 'OrderBatch' });
export type OrderBatch = z.infer<typeof OrderBatch>;

/** Per order of a batch, in its order: what a single create would have answered. */
export const OrderBatchResult = z.object({
  status: z.number().int(),
  replayed: z.literal(true).optional(),
  order: IntegrationStopView.optional(),
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.string()).optional() }).optional(),
});
export const OrderBatchAnswer = z.object({ results: z.array(OrderBatchResult) }).meta({ id: 'OrderBatchAnswer' });
export type OrderBatchAnswer = z.infer<typeof OrderBatchAnswer>;

export const OrderHistoryEntry = z.object({
  at: Timestamp,
  status: StopStatus.optional(),
  failureReason: FailureReason.nullable().optional(),
}).meta({ id: 'OrderHistoryEntry' });
export const OrderHistory = z.object({ order: IntegrationStopView, history: z.array(OrderHistoryEntry) }).meta({ id: 'OrderHistory' });
export type OrderHistory = z.infer<typeof OrderHistory>;

export const maxOrderChangesLimit = 500;
export const OrderChangesQuery = z.object({
  cursor: z.string().max(64).optional().meta({ description: 'The `cursor` of the previous page; omitted: from the beginning.' }),
  limit: z.coerce.number().int().min(1).max(maxOrderChangesLimit).default(100),
}).strict();
export const OrderChanges = z.object({
  orders: z.array(IntegrationStopView),
  /** Opaque: send it back as `cursor` for the next page. */
  cursor: z.string(),
  hasMore: z.boolean(),
}).meta({ id: 'OrderChanges' });
export type OrderChanges = z.infer<typeof OrderChanges>;

export const OrderParams = z.object({ locationId: EntityId, orderRef: OrderRef });
export const LocationOrderParams = z.object({ locationId: EntityId });
