import { z } from 'zod';
import {
  Address, Coordinates, CustomerName, DeliveryNotes, EntityId, Phone, RouteDate, StopStatus, TimeWindow, Timestamp, WithheldStopFields,
} from './domain';
import { FailureNote, FailureReason } from './orders';
import { StopOrderFields } from './mutations';

/*
 * The planning screens' part of the bridge (bridge.ts lists the calls): routes of a day, a
 * route's stops in delivery order, the stop editor with the order a stop carries, bulk moves and
 * cancellations, assignments, the failure reason, and the depot's drivers and vehicles. Every
 * edit call queues outbox mutations in main (offline too); the server authorizes and applies
 * them. Ids of new records are chosen in main, never by the page.
 */

const MaxRoutes = 2000;
const MaxStops = 5000;
const MaxBulk = 500;

export const FleetDriverView = z.object({
  id: EntityId,
  name: z.string().max(200),
  /** Retired drivers are named on old routes but never offered. */
  retired: z.boolean(),
  /** The driver signs in with an account of their own. */
  hasLogin: z.boolean(),
});
export type FleetDriverView = z.infer<typeof FleetDriverView>;

export const FleetVehicleView = z.object({
  id: EntityId,
  label: z.string().max(100),
  plate: z.string().max(32),
  retired: z.boolean(),
});
export type FleetVehicleView = z.infer<typeof FleetVehicleView>;

export const FleetView = z.object({
  drivers: z.array(FleetDriverView).max(MaxRoutes),
  vehicles: z.array(FleetVehicleView).max(MaxRoutes),
});
export type FleetView = z.infer<typeof FleetView>;

export const PlanRouteView = z.object({
  id: EntityId,
  name: z.string().max(200),
  date: RouteDate,
  driverId: EntityId.nullable(),
  driverName: z.string().max(200).nullable(),
  vehicleId: EntityId.nullable(),
  vehicleLabel: z.string().max(100).nullable(),
  stopCount: z.number().int().nonnegative(),
  pendingEdits: z.number().int().nonnegative(),
});
export type PlanRouteView = z.infer<typeof PlanRouteView>;

/** The routes of one day at a depot, and its fleet (retired ones included, to name them). */
export const PlanDayView = FleetView.extend({ routes: z.array(PlanRouteView).max(MaxRoutes) });
export type PlanDayView = z.infer<typeof PlanDayView>;

/** A stop in the route editor's list: what the viewer may see, no notes, phones or billing. */
export const PlanStopView = z.object({
  id: EntityId,
  routeId: EntityId,
  sequence: z.number().int().nonnegative(),
  customerName: z.string().max(200).optional(),
  address: z.string().max(500).optional(),
  orderRef: z.string().max(100).optional(),
  window: TimeWindow,
  status: StopStatus,
  pending: z.boolean(),
});
export type PlanStopView = z.infer<typeof PlanStopView>;

export const RoutePlanView = z.object({ route: PlanRouteView, stops: z.array(PlanStopView).max(MaxStops) });
export type RoutePlanView = z.infer<typeof RoutePlanView>;

/**
 * The stop editor's fields: the customer, where and when, and the order the stop carries. What
 * the viewer may not see is absent: billing without `stop.readBilling`, notes without
 * `stop.readNotes`. The phone number and email are never sent with it: they are `masked` until
 * the user reveals them (`revealStopPhone`, an audited read), as on the stop detail.
 */
export const StopOrderView = z.object({
  stop: z.object({
    id: EntityId,
    locationId: EntityId,
    routeId: EntityId,
    sequence: z.number().int().nonnegative(),
    status: StopStatus,
    customerName: z.string().max(200).optional(),
    address: z.string().max(500).optional(),
    coordinates: Coordinates.nullable().optional(),
    notes: DeliveryNotes.optional(),
    window: TimeWindow,
    ...StopOrderFields.pick({ orderRef: true, parcelCount: true, barcodes: true, minimumAge: true, idCheck: true, pinRequired: true }).shape,
    ...StopOrderFields.pick({ paymentRef: true, codAmount: true, deliveryFee: true, currency: true }).partial().shape,
    failureReason: FailureReason.nullable(),
    failureNote: FailureNote.nullable().optional(),
    withheld: WithheldStopFields.optional(),
    updatedAt: Timestamp,
    updatedBy: z.string().max(200).nullable(),
  }),
  routeName: z.string().max(200).nullable(),
  phone: z.enum(['masked', 'none']).optional(),
  /** Revealed with the phone number (the same permission and the same audited read). */
  email: z.enum(['masked', 'none']).optional(),
  /** What this viewer may change here (the server decides again). */
  canEdit: z.boolean(),
  canEditNotes: z.boolean(),
  canEditBilling: z.boolean(),
  pendingEdits: z.number().int().nonnegative(),
});
export type StopOrderView = z.infer<typeof StopOrderView>;

/**
 * What the stop editor sends. Only the fields the user changed are sent on an update; billing
 * only with `stop.readBilling`, notes only with `stop.editNotes` (queued as their own edit), the
 * phone only once revealed.
 */
export const StopOrderInput = z.object({
  customerName: CustomerName,
  address: Address,
  phone: Phone.nullable(),
  notes: DeliveryNotes,
  window: TimeWindow,
  ...StopOrderFields.shape,
}).partial().strict();
export type StopOrderInput = z.infer<typeof StopOrderInput>;

const RouteFields = { name: z.string().trim().min(1, 'a route needs a name').max(200), date: RouteDate };
const StopIds = z.array(EntityId).min(1).max(MaxBulk);

/** A bulk edit's outcome: the stops whose edit was queued, and each one refused on this device with why. */
export const BulkResult = z.object({
  queued: z.array(EntityId).max(MaxBulk),
  refused: z.array(z.object({ id: EntityId, message: z.string().max(500) })).max(MaxBulk),
});
export type BulkResult = z.infer<typeof BulkResult>;

export const planningBridgeCalls = {
  /** Routes of `date` at the depot with their crew, and the fleet; needs `location.read`. */
  planDay: { args: z.object({ locationId: EntityId, date: RouteDate }).strict(), result: PlanDayView },
  routePlan: { args: z.object({ routeId: EntityId }).strict(), result: RoutePlanView },
  /** `route.edit`. */
  createRoute: { args: z.object({ locationId: EntityId, ...RouteFields }).strict(), result: PlanRouteView },
  updateRoute: { args: z.object({ routeId: EntityId, ...RouteFields }).strict(), result: PlanRouteView },
  /**
   * Cancels a route that has not started (`route.edit`): its planned stops become cancelled and
   * its crew is released. The server refuses it while any stop is under way or done.
   */
  cancelRoute: { args: z.object({ routeId: EntityId, reason: z.string().trim().max(500).optional() }).strict(), result: PlanRouteView },
  /** Sets the crew of each route; a field left out keeps each route's own. Retired ones are refused. */
  assignRoutes: {
    args: z.object({
      routeIds: z.array(EntityId).min(1).max(MaxBulk),
      driverId: EntityId.nullable().optional(),
      vehicleId: EntityId.nullable().optional(),
    }).strict().refine((a) => a.driverId !== undefined || a.vehicleId !== undefined, 'choose a driver or a vehicle'),
    result: BulkResult,
  },
  /** The route's stops in the order given (every stop of the route, once). `route.edit`. */
  reorderStops: { args: z.object({ routeId: EntityId, stopIds: z.array(EntityId).min(1).max(MaxStops) }).strict(), result: RoutePlanView },
  /** `stop.edit`: each stop goes to the end of the other route, in the order given. */
  moveStops: { args: z.object({ stopIds: StopIds, toRouteId: EntityId }).strict(), result: BulkResult },
  /** Customer, address and window are needed; the stop goes to the end of the route. `stop.edit`. */
  createStop: {
    args: z.object({
      routeId: EntityId,
      order: StopOrderInput.required({ customerName: true, address: true, window: true }),
    }).strict(),
    result: StopOrderView,
  },
  stopOrder: { args: z.object({ stopId: EntityId }).strict(), result: StopOrderView },
  updateStop: {
    args: z.object({ stopId: EntityId, changes: StopOrderInput.refine((c) => Object.keys(c).length > 0, 'nothing changed') }).strict(),
    result: StopOrderView,
  },
  cancelStops: { args: z.object({ stopIds: StopIds, reason: z.string().trim().max(500).optional() }).strict(), result: BulkResult },

  /** fleet.manage */
  listFleet: { args: z.object({ locationId: EntityId }).strict(), result: FleetView },
  createDriver: { args: z.object({ locationId: EntityId, name: z.string().trim().min(1, 'a driver needs a name').max(200) }).strict(), result: FleetDriverView },
  updateDriver: { args: z.object({ driverId: EntityId, name: z.string().trim().min(1, 'a driver needs a name').max(200) }).strict(), result: FleetDriverView },
  retireDriver: { args: z.object({ driverId: EntityId }).strict(), result: FleetDriverView },
  createVehicle: {
    args: z.object({ locationId: EntityId, label: z.string().trim().min(1, 'a vehicle needs a label').max(100), plate: z.string().trim().max(32) }).strict(),
    result: FleetVehicleView,
  },
  updateVehicle: {
    args: z.object({ vehicleId: EntityId, label: z.string().trim().min(1, 'a vehicle needs a label').max(100), plate: z.string().trim().max(32) }).strict(),
    result: FleetVehicleView,
  },
  retireVehicle: { args: z.object({ vehicleId: EntityId }).strict(), result: FleetVehicleView },
} as const satisfies Record<string, { args: z.ZodType; result: z.ZodType }>;
