import { z } from 'zod';
import {
  Address, Coordinates, CustomerName, DeliveryNotes, EntityId, Latitude, Longitude, Phone, RouteDate, StopStatus, TimeWindow, Timestamp,
} from './domain';
import {
  Barcodes, CurrencyCode, Email, FailureReason, MinimumAge, MinorAmount, OrderRef, ParcelCount, PaymentRef, PinRequired, stopBillingFields,
} from './orders';
import {
  DriverCreate, DriverRetire, DriverUpdate, RouteCancel, RouteReorder, RouteUpdate, StopCancel, StopMove, VehicleCreate,
  VehicleRetire, VehicleUpdate,
} from './mutations-planning';
import type { Permission } from './permissions';

/* ----------------------------------------------------------------------------------------
 * Mutations: what a console pushes. Each carries a client-generated UUID; the server
 * answers each id once and replays are answered `duplicate` without applying again.
 *
 * A mutation type is declared here once: its schema (below) and its rule (the permission it
 * needs and the record it targets, in `mutationRules`). The server handles it in one module
 * of `sync-server/src/sync/mutations/`, the desktop applies it optimistically in one module of
 * `desktop/src/core/mutations/`; both registries are typed over `MutationType`, so a type
 * declared here and not handled there does not compile (docs/architecture.md).
 * -------------------------------------------------------------------------------------- */

export const MutationId = z.uuid();

const base = { id: MutationId, locationId: EntityId, createdAt: Timestamp };

export const StopSetStatus = z.object({
  ...base,
  type: z.literal('stop.setStatus'),
  stopId: EntityId,
  to: StopStatus,
  /** Required with `failed`, refused with any other status (`failureReasonRefusal`). */
  failureReason: FailureReason.optional(),
  /** Free text; with `failed` it is kept on the stop as its failure note. */
  reason: z.string().max(500).optional(),
});
export const StopEditNotes = z.object({
  ...base,
  type: z.literal('stop.editNotes'),
  stopId: EntityId,
  notes: DeliveryNotes,
});
/**
 * The order data of a stop as a create or update carries it. On `stop.create` each is optional
 * and defaults to none (no order ref, one parcel, no barcodes, no checks, no billing); billing
 * fields need `stop.readBilling` as well (`mutationRules`). Together they must make sense
 * (`stopOrderProblems`: an amount needs a currency), which the server checks on the result.
 */
export const StopOrderFields = z.object({
  orderRef: OrderRef.nullable(),
  parcelCount: ParcelCount,
  barcodes: Barcodes,
  coordinates: Coordinates.nullable(),
  email: Email.nullable(),
  minimumAge: MinimumAge.nullable(),
  idCheck: z.boolean(),
  pinRequired: PinRequired,
  paymentRef: PaymentRef.nullable(),
  codAmount: MinorAmount.nullable(),
  deliveryFee: MinorAmount.nullable(),
  currency: CurrencyCode.nullable(),
});
export type StopOrderFields = z.infer<typeof StopOrderFields>;

export const StopCreate = z.object({
  ...base,
  type: z.literal('stop.create'),
  stopId: EntityId,
  routeId: EntityId,
  sequence: z.number().int().nonnegative(),
  customerName: CustomerName,
  address: Address,
  phone: Phone.nullable(),
  notes: DeliveryNotes,
  window: TimeWindow,
  ...StopOrderFields.partial().shape,
});
export const StopUpdate = z.object({
  ...base,
  type: z.literal('stop.update'),
  stopId: EntityId,
  changes: z
    .object({
      sequence: z.number().int().nonnegative(),
      customerName: CustomerName,
      address: Address,
      phone: Phone.nullable(),
      window: TimeWindow,
      eta: Timestamp.nullable(),
      ...StopOrderFields.shape,
    })
    .partial()
    .strict()
    .refine((c) => Object.keys(c).length > 0, 'at least one field changes'),
});
export const RouteCreate = z.object({
  ...base,
  type: z.literal('route.create'),
  routeId: EntityId,
  name: z.string().min(1).max(200),
  date: RouteDate,
});
export const RouteAssign = z.object({
  ...base,
  type: z.literal('route.assign'),
  routeId: EntityId,
  driverId: EntityId.nullable(),
  vehicleId: EntityId.nullable(),
});
export const PositionReport = z.object({
  ...base,
  type: z.literal('position.report'),
  driverId: EntityId,
  lat: Latitude,
  lng: Longitude,
  headingDeg: z.number().min(0).max(360).nullable(),
  speedKmh: z.number().min(0).max(300).nullable(),
});

/**
 * A sensitive read, not an edit: the user revealed the stop's customer phone number in the
 * console. It changes nothing; the server audits it (`createdAt` is when it was revealed,
 * offline included) and answers with the stop's current version.
 */
export const StopRevealPhone = z.object({
  ...base,
  type: z.literal('stop.revealPhone'),
  stopId: EntityId,
});

export const Mutation = z.discriminatedUnion('type', [
  StopSetStatus, StopEditNotes, StopCreate, StopUpdate, StopRevealPhone, RouteCreate, RouteAssign, PositionReport,
  // Planning (mutations-planning.ts)
  RouteUpdate, RouteCancel, RouteReorder, StopCancel, StopMove,
  DriverCreate, DriverUpdate, DriverRetire, VehicleCreate, VehicleUpdate, VehicleRetire,
]);
export type Mutation = z.infer<typeof Mutation>;
export type MutationType = Mutation['type'];
export type MutationOf<T extends MutationType> = Extract<Mutation, { type: T }>;
export const mutationTypes: readonly MutationType[] = Mutation.options.map((o) => o.shape.type.value);

/** The kinds of record a mutation can change. Positions are keyed by driver. */
export const mutationTargetKinds = ['stop', 'route', 'position', 'driver', 'vehicle'] as const;
export type MutationTargetKind = (typeof mutationTargetKinds)[number];
export interface MutationTarget {
  kind: MutationTargetKind;
  id: string;
}

export interface MutationRule<T extends MutationType> {
  /** The permission the caller needs at the mutation's location. */
  permission: Permission;
  /** The one record the mutation changes (the row it is audited against and rolled back to). */
  target(m: MutationOf<T>): MutationTarget;
  /** Permissions this particular mutation needs besides `permission`, from what it carries. */
  alsoNeeds?(m: MutationOf<T>): readonly Permission[];
}

/** Whether a stop create or update sets billing data (a create's nulls are the default, not a change). */
function carriesBilling(values: Partial<Record<(typeof stopBillingFields)[number], unknown>>, nullSets: boolean): boolean {
  return stopBillingFields.some((f) => values[f] !== undefined && (nullSets || values[f] !== null));
}
const billingNeeds = (sets: boolean): readonly Permission[] => (sets ? ['stop.readBilling'] : []);

/** Every mutation type's rule. A mapped type: a declared type without a rule does not compile. */
export const mutationRules: { readonly [T in MutationType]: MutationRule<T> } = {
  'stop.setStatus': { permission: 'stop.setStatus', target: (m) => ({ kind: 'stop', id: m.stopId }) },
  'stop.editNotes': { permission: 'stop.editNotes', target: (m) => ({ kind: 'stop', id: m.stopId }) },
  'stop.create': {
    permission: 'stop.edit', target: (m) => ({ kind: 'stop', id: m.stopId }), alsoNeeds: (m) => billingNeeds(carriesBilling(m, false)),
  },
  'stop.update': {
    permission: 'stop.edit', target: (m) => ({ kind: 'stop', id: m.stopId }), alsoNeeds: (m) => billingNeeds(carriesBilling(m.changes, true)),
  },
  'stop.revealPhone': { permission: 'stop.readPhone', target: (m) => ({ kind: 'stop', id: m.stopId }) },
  'route.create': { permission: 'route.edit', target: (m) => ({ kind: 'route', id: m.routeId }) },
  'route.assign': { permission: 'route.edit', target: (m) => ({ kind: 'route', id: m.routeId }) },
  'position.report': { permission: 'position.report', target: (m) => ({ kind: 'position', id: m.driverId }) },
  'route.update': { permission: 'route.edit', target: (m) => ({ kind: 'route', id: m.routeId }) },
  'route.cancel': { permission: 'route.edit', target: (m) => ({ kind: 'route', id: m.routeId }) },
  'route.reorder': { permission: 'stop.edit', target: (m) => ({ kind: 'route', id: m.routeId }) },
  'stop.cancel': { permission: 'stop.edit', target: (m) => ({ kind: 'stop', id: m.stopId }) },
  'stop.move': { permission: 'stop.edit', target: (m) => ({ kind: 'stop', id: m.stopId }) },
  'driver.create': { permission: 'fleet.manage', target: (m) => ({ kind: 'driver', id: m.driverId }) },
  'driver.update': { permission: 'fleet.manage', target: (m) => ({ kind: 'driver', id: m.driverId }) },
  'driver.retire': { permission: 'fleet.manage', target: (m) => ({ kind: 'driver', id: m.driverId }) },
  'vehicle.create': { permission: 'fleet.manage', target: (m) => ({ kind: 'vehicle', id: m.vehicleId }) },
  'vehicle.update': { permission: 'fleet.manage', target: (m) => ({ kind: 'vehicle', id: m.vehicleId }) },
  'vehicle.retire': { permission: 'fleet.manage', target: (m) => ({ kind: 'vehicle', id: m.vehicleId }) },
};

/*
 * Each registry (this one, the server's handlers, the desktop's optimistic handlers) is a mapped
 * type over `MutationType`, and its dispatcher widens `registry[m.type]` once: TypeScript cannot
 * correlate the entry with `m` by itself (microsoft/TypeScript#30581), while the mapped type
 * guarantees that the entry under `m.type` is the one written for that type.
 */
export function mutationTarget(m: Mutation): MutationTarget {
  return (mutationRules[m.type] as MutationRule<MutationType>).target(m);
}

/** Every permission this mutation needs at its location: its type's, and what its content adds. */
export function mutationPermissions(m: Mutation): readonly Permission[] {
  const rule = mutationRules[m.type] as MutationRule<MutationType>;
  return [rule.permission, ...(rule.alsoNeeds?.(m) ?? [])];
}

/** The permission each mutation type needs at its location. */
export const mutationPermission: Readonly<Record<MutationType, Permission>> = Object.fromEntries(
  mutationTypes.map((t) => [t, mutationRules[t].permission]),
) as Record<MutationType, Permission>;
