import { z } from 'zod';
import { EntityId, RouteDate, Timestamp } from './domain';

/* ----------------------------------------------------------------------------------------
 * Planning mutations: what a dispatcher does to a day's routes, and what a manager does to
 * the fleet. Declared here, listed in the `Mutation` union and in `mutationRules`
 * (mutations.ts) like every other type.
 *
 * Edits of existing values carry `{ from, to }`: `from` is the value the console showed when
 * the user changed it. The server applies the edit only while its value is still `from`, and
 * otherwise refuses it with its current value, so of two people editing the same field
 * offline the second sees what the first made of it instead of silently overwriting it.
 * -------------------------------------------------------------------------------------- */

const base = { id: z.uuid(), locationId: EntityId, createdAt: Timestamp };

/** An edit of one field: the value the user saw, and the value they chose. */
export const fieldEdit = <T extends z.ZodType>(value: T) => z.object({ from: value, to: value });

const someField = (c: object) => Object.keys(c).length > 0;

export const RouteName = z.string().min(1).max(200);
export const DriverName = z.string().trim().min(1).max(200);
export const VehicleLabel = z.string().trim().min(1).max(100);
export const VehiclePlate = z.string().trim().max(32);

/**
 * The longest order one `route.reorder` carries (both lists of ids fit the push's body limit
 * together); a longer route is put in order with `stop.move`.
 */
export const maxReorderStops = 1000;

/** Renames a route or moves it to another day (`route.edit`). */
export const RouteUpdate = z.object({
  ...base,
  type: z.literal('route.update'),
  routeId: EntityId,
  changes: z
    .object({ name: fieldEdit(RouteName), date: fieldEdit(RouteDate) })
    .partial()
    .strict()
    .refine(someField, 'at least one field changes'),
});

/**
 * Cancels a route that has not started (`route.edit`): every planned stop becomes cancelled
 * (the stop state machine's planned -> cancelled) and the driver and vehicle are released.
 * Refused while any stop is under way or done (en route, arrived, delivered, failed).
 */
export const RouteCancel = z.object({
  ...base,
  type: z.literal('route.cancel'),
  routeId: EntityId,
  reason: z.string().max(500).optional(),
});

/**
 * Puts a route's stops in a new order (`stop.edit`). `stopIds` is the whole new order;
 * `expected` is the order the console showed. Refused, with the route's current value,
 * when the route's stops or their order changed meanwhile.
 */
export const RouteReorder = z.object({
  ...base,
  type: z.literal('route.reorder'),
  routeId: EntityId,
  stopIds: z.array(EntityId).max(maxReorderStops),
  expected: z.array(EntityId).max(maxReorderStops),
});

/**
 * Cancels one stop (`stop.edit`), through the stop state machine: only a planned stop. A
 * dispatcher's action, unlike a driver's status change.
 */
export const StopCancel = z.object({
  ...base,
  type: z.literal('stop.cancel'),
  stopId: EntityId,
  reason: z.string().max(500).optional(),
});

/**
 * Moves a stop to another route of the same location, or within its route, at `sequence`
 * (0 is first; past the end is last) (`stop.edit`). `fromRouteId` is the route the console
 * showed it on: refused with the stop's current value when it has moved meanwhile. Both
 * routes are renumbered 0, 1, 2, ... Only a stop not under way moves (planned or failed).
 */
export const StopMove = z.object({
  ...base,
  type: z.literal('stop.move'),
  stopId: EntityId,
  fromRouteId: EntityId,
  toRouteId: EntityId,
  sequence: z.number().int().nonnegative(),
});

/** A new driver (`fleet.manage`). Linking the driver's own login stays with the admin CLI. */
export const DriverCreate = z.object({
  ...base,
  type: z.literal('driver.create'),
  driverId: EntityId,
  name: DriverName,
});

export const DriverUpdate = z.object({
  ...base,
  type: z.literal('driver.update'),
  driverId: EntityId,
  changes: z.object({ name: fieldEdit(DriverName) }).strict(),
});

/** Retires a driver (`fleet.manage`): kept on past routes, never assigned again. Refused while assigned to a route with open stops. */
export const DriverRetire = z.object({
  ...base,
  type: z.literal('driver.retire'),
  driverId: EntityId,
});

export const VehicleCreate = z.object({
  ...base,
  type: z.literal('vehicle.create'),
  vehicleId: EntityId,
  label: VehicleLabel,
  plate: VehiclePlate,
});

export const VehicleUpdate = z.object({
  ...base,
  type: z.literal('vehicle.update'),
  vehicleId: EntityId,
  changes: z
    .object({ label: fieldEdit(VehicleLabel), plate: fieldEdit(VehiclePlate) })
    .partial()
    .strict()
    .refine(someField, 'at least one field changes'),
});

/** Retires a vehicle (`fleet.manage`): kept on past routes, never assigned again. Refused while assigned to a route with open stops. */
export const VehicleRetire = z.object({
  ...base,
  type: z.literal('vehicle.retire'),
  vehicleId: EntityId,
});

/** The planning mutation schemas, in the order the `Mutation` union lists them. */
export const planningMutations = [
  RouteUpdate, RouteCancel, RouteReorder, StopCancel, StopMove,
  DriverCreate, DriverUpdate, DriverRetire, VehicleCreate, VehicleUpdate, VehicleRetire,
] as const;
