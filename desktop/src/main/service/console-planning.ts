import crypto from 'node:crypto';
import type {
  BridgeArgs, BulkResult, FleetDriverView, FleetVehicleView, FleetView, PlanDayView, PlanRouteView, RoutePlanView,
} from '@depotline/shared';
import { ConsoleError } from './console-error';
import { permissionsOf, stopsWithPendingEdits } from './console-views';
import {
  bulkEdit, depotOf, type MutationBody, type PlanningOptions, queueEdit, routeOf, stopOf, type UnlockedSession,
} from './planning-edits';
import { inShownOrder, routesWithPendingEdits, toFleetView, toPlanRoute, toPlanStop } from './planning-views';

/**
 * The planning screens' calls: routes of a day, a route's stops in order, route and stop edits,
 * bulk moves and cancellations, crews, and the depot's fleet. Every edit is one or more outbox
 * mutations queued through the core (applied on this device at once, sent when connected; the
 * server decides). Main checks the permission at the depot first, from the same catalogue the
 * server enforces, so a refused edit is answered before it is queued.
 */
export class ConsolePlanning {
  readonly #o: PlanningOptions;

  constructor(options: PlanningOptions) {
    this.#o = options;
  }

  #queue(session: UnlockedSession, locationId: string, body: MutationBody): Promise<void> {
    return queueEdit(this.#o, session, locationId, body);
  }

  async #planRoute(session: UnlockedSession, routeId: string): Promise<PlanRouteView> {
    const route = await routeOf(session, routeId);
    const [drivers, vehicles, stops, pending] = await Promise.all([
      session.store.drivers(route.locationId), session.store.vehicles(route.locationId), session.store.stopsOfRoute(route.id), session.store.pendingMutations(),
    ]);
    return toPlanRoute(route, { drivers, vehicles, stopCount: stops.length, pendingEdits: routesWithPendingEdits(pending).get(route.id) ?? 0 });
  }

  async planDay(args: BridgeArgs<'planDay'>): Promise<PlanDayView> {
    const session = this.#o.session();
    await depotOf(session, args.locationId);
    const [rows, drivers, vehicles] = await Promise.all([
      session.store.boardQuery(args.locationId, { filter: { date: args.date }, sort: { key: 'name' }, limit: 2000 }),
      session.store.drivers(args.locationId), session.store.vehicles(args.locationId),
    ]);
    return {
      ...toFleetView(drivers, vehicles),
      routes: rows.map((r) => toPlanRoute(r.route, { drivers, vehicles, stopCount: r.stops.total, pendingEdits: r.pendingEdits })),
    };
  }

  async routePlan(args: BridgeArgs<'routePlan'>): Promise<RoutePlanView> {
    return this.#routePlan(this.#o.session(), args.routeId);
  }

  async #routePlan(session: UnlockedSession, routeId: string): Promise<RoutePlanView> {
    const route = await this.#planRoute(session, routeId);
    const stored = await routeOf(session, routeId);
    const { permissions } = await depotOf(session, stored.locationId);
    const pendingEdits = await session.store.pendingMutations();
    const pending = stopsWithPendingEdits(pendingEdits);
    const stops = inShownOrder(await session.store.stopsOfRoute(routeId), pendingEdits, routeId);
    return { route, stops: stops.map((s) => toPlanStop(s, permissions, pending.has(s.id))) };
  }

  async createRoute(args: BridgeArgs<'createRoute'>): Promise<PlanRouteView> {
    const session = this.#o.session();
    await depotOf(session, args.locationId, 'route.edit');
    const routeId = `rt-${crypto.randomUUID()}`;
    await this.#queue(session, args.locationId, { type: 'route.create', routeId, name: args.name, date: args.date });
    return this.#planRoute(session, routeId);
  }

  async updateRoute(args: BridgeArgs<'updateRoute'>): Promise<PlanRouteView> {
    const session = this.#o.session();
    const route = await routeOf(session, args.routeId);
    await depotOf(session, route.locationId, 'route.edit');
    // `from` is what this device shows: the server applies the edit only while it still holds that.
    const changes = {
      ...(args.name !== route.name ? { name: { from: route.name, to: args.name } } : {}),
      ...(args.date !== route.date ? { date: { from: route.date, to: args.date } } : {}),
    };
    if (Object.keys(changes).length > 0) await this.#queue(session, route.locationId, { type: 'route.update', routeId: route.id, changes });
    return this.#planRoute(session, route.id);
  }

  async cancelRoute(args: BridgeArgs<'cancelRoute'>): Promise<PlanRouteView> {
    const session = this.#o.session();
    const route = await routeOf(session, args.routeId);
    await depotOf(session, route.locationId, 'route.edit');
    const started = (await session.store.stopsOfRoute(route.id)).filter((s) => s.status !== 'planned' && s.status !== 'cancelled').length;
    if (started > 0) {
      throw new ConsoleError('invalid_transition', `${started} of the route’s stops ${started === 1 ? 'is' : 'are'} under way or done: only a route that has not started can be cancelled.`);
    }
    await this.#queue(session, route.locationId, { type: 'route.cancel', routeId: route.id, ...(args.reason ? { reason: args.reason } : {}) });
    return this.#planRoute(session, route.id);
  }

  async assignRoutes(args: BridgeArgs<'assignRoutes'>): Promise<BulkResult> {
    const session = this.#o.session();
    return bulkEdit(args.routeIds, async (routeId) => {
      const route = await routeOf(session, routeId);
      await depotOf(session, route.locationId, 'route.edit');
      const driverId = args.driverId === undefined ? route.driverId : args.driverId;
      const vehicleId = args.vehicleId === undefined ? route.vehicleId : args.vehicleId;
      // Only a newly chosen one must be active: a route keeps a driver retired since (as the server does).
      await this.#requireActiveCrew(session, route.locationId, driverId !== route.driverId ? driverId : null, vehicleId !== route.vehicleId ? vehicleId : null);
      if (driverId === route.driverId && vehicleId === route.vehicleId) return;
      await this.#queue(session, route.locationId, { type: 'route.assign', routeId, driverId, vehicleId });
    });
  }

  /** A driver or vehicle newly chosen must be at the depot and not retired (the server checks again). */
  async #requireActiveCrew(session: UnlockedSession, locationId: string, driverId: string | null, vehicleId: string | null): Promise<void> {
    if (driverId !== null) {
      const driver = (await session.store.drivers(locationId)).find((d) => d.id === driverId);
      if (!driver) throw new ConsoleError('not_found', 'That driver does not work at this depot.');
      if (driver.retiredAt != null) throw new ConsoleError('bad_request', `${driver.name} is retired and cannot be assigned.`);
    }
    if (vehicleId !== null) {
      const vehicle = (await session.store.vehicles(locationId)).find((v) => v.id === vehicleId);
      if (!vehicle) throw new ConsoleError('not_found', 'That vehicle is not at this depot.');
      if (vehicle.retiredAt != null) throw new ConsoleError('bad_request', `${vehicle.label} is retired and cannot be assigned.`);
    }
  }

  async reorderStops(args: BridgeArgs<'reorderStops'>): Promise<RoutePlanView> {
    const session = this.#o.session();
    const route = await routeOf(session, args.routeId);
    await depotOf(session, route.locationId, 'stop.edit');
    const stops = await session.store.stopsOfRoute(route.id);
    const ids = new Set(stops.map((s) => s.id));
    if (args.stopIds.length !== ids.size || !args.stopIds.every((id) => ids.has(id)) || new Set(args.stopIds).size !== ids.size) {
      throw new ConsoleError('bad_request', 'The route changed meanwhile: its stops were read again, try the move once more.');
    }
    // What the user saw: the server's order, or the last reorder still waiting to be sent.
    const current = inShownOrder(stops, await session.store.pendingMutations(), route.id).map((s) => s.id);
    if (current.join() !== args.stopIds.join()) {
      await this.#queue(session, route.locationId, { type: 'route.reorder', routeId: route.id, stopIds: args.stopIds, expected: current });
    }
    return this.#routePlan(session, route.id);
  }

  async moveStops(args: BridgeArgs<'moveStops'>): Promise<BulkResult> {
    const session = this.#o.session();
    const target = await routeOf(session, args.toRouteId);
    await depotOf(session, target.locationId, 'stop.edit');
    return bulkEdit(args.stopIds, async (stopId) => {
      const stop = await stopOf(session, stopId);
      if (stop.locationId !== target.locationId) throw new ConsoleError('bad_request', 'A stop moves only to a route of its own depot.');
      if (stop.routeId === target.id) return;
      // Each goes to the end of the other route, in the order given.
      const sequence = (await session.store.stopsOfRoute(target.id)).length;
      await this.#queue(session, stop.locationId, { type: 'stop.move', stopId, fromRouteId: stop.routeId, toRouteId: target.id, sequence });
    });
  }

  async cancelStops(args: BridgeArgs<'cancelStops'>): Promise<BulkResult> {
    const session = this.#o.session();
    return bulkEdit(args.stopIds, async (stopId) => {
      const stop = await stopOf(session, stopId);
      await depotOf(session, stop.locationId, 'stop.edit');
      await this.#queue(session, stop.locationId, { type: 'stop.cancel', stopId, ...(args.reason ? { reason: args.reason } : {}) });
    });
  }

  /* ------------------------------------------------------------------------------ fleet */

  async listFleet(args: BridgeArgs<'listFleet'>): Promise<FleetView> {
    const session = this.#o.session();
    await depotOf(session, args.locationId, 'fleet.manage');
    const [drivers, vehicles] = await Promise.all([session.store.drivers(args.locationId), session.store.vehicles(args.locationId)]);
    return toFleetView(drivers, vehicles);
  }

  async #driver(session: UnlockedSession, locationId: string, driverId: string): Promise<FleetDriverView> {
    const fleet = toFleetView(await session.store.drivers(locationId), []);
    const driver = fleet.drivers.find((d) => d.id === driverId);
    if (!driver) throw new ConsoleError('not_found', 'That driver is not on this device.');
    return driver;
  }

  async #vehicle(session: UnlockedSession, locationId: string, vehicleId: string): Promise<FleetVehicleView> {
    const fleet = toFleetView([], await session.store.vehicles(locationId));
    const vehicle = fleet.vehicles.find((v) => v.id === vehicleId);
    if (!vehicle) throw new ConsoleError('not_found', 'That vehicle is not on this device.');
    return vehicle;
  }

  /** The depot a driver or vehicle belongs to, among the user's depots where they manage the fleet. */
  async #fleetDepotOf(session: UnlockedSession, kind: 'driver' | 'vehicle', id: string): Promise<string> {
    for (const location of await session.store.locations()) {
      const list = kind === 'driver' ? await session.store.drivers(location.id) : await session.store.vehicles(location.id);
      if (!list.some((x) => x.id === id)) continue;
      if (!permissionsOf(location).has('fleet.manage')) throw new ConsoleError('forbidden', 'Your access at this depot does not allow managing drivers and vehicles.');
      return location.id;
    }
    throw new ConsoleError('not_found', `That ${kind} is not on this device.`);
  }

  async createDriver(args: BridgeArgs<'createDriver'>): Promise<FleetDriverView> {
    const session = this.#o.session();
    await depotOf(session, args.locationId, 'fleet.manage');
    const driverId = `drv-${crypto.randomUUID()}`;
    await this.#queue(session, args.locationId, { type: 'driver.create', driverId, name: args.name });
    return this.#driver(session, args.locationId, driverId);
  }

  async updateDriver(args: BridgeArgs<'updateDriver'>): Promise<FleetDriverView> {
    const session = this.#o.session();
    const locationId = await this.#fleetDepotOf(session, 'driver', args.driverId);
    const before = await this.#driver(session, locationId, args.driverId);
    if (before.name !== args.name) {
      await this.#queue(session, locationId, { type: 'driver.update', driverId: args.driverId, changes: { name: { from: before.name, to: args.name } } });
    }
    return this.#driver(session, locationId, args.driverId);
  }

  async retireDriver(args: BridgeArgs<'retireDriver'>): Promise<FleetDriverView> {
    const session = this.#o.session();
    const locationId = await this.#fleetDepotOf(session, 'driver', args.driverId);
    await this.#queue(session, locationId, { type: 'driver.retire', driverId: args.driverId });
    return this.#driver(session, locationId, args.driverId);
  }

  async createVehicle(args: BridgeArgs<'createVehicle'>): Promise<FleetVehicleView> {
    const session = this.#o.session();
    await depotOf(session, args.locationId, 'fleet.manage');
    const vehicleId = `veh-${crypto.randomUUID()}`;
    await this.#queue(session, args.locationId, { type: 'vehicle.create', vehicleId, label: args.label, plate: args.plate });
    return this.#vehicle(session, args.locationId, vehicleId);
  }

  async updateVehicle(args: BridgeArgs<'updateVehicle'>): Promise<FleetVehicleView> {
    const session = this.#o.session();
    const locationId = await this.#fleetDepotOf(session, 'vehicle', args.vehicleId);
    const before = await this.#vehicle(session, locationId, args.vehicleId);
    const changes = {
      ...(before.label !== args.label ? { label: { from: before.label, to: args.label } } : {}),
      ...(before.plate !== args.plate ? { plate: { from: before.plate, to: args.plate } } : {}),
    };
    if (Object.keys(changes).length > 0) await this.#queue(session, locationId, { type: 'vehicle.update', vehicleId: args.vehicleId, changes });
    return this.#vehicle(session, locationId, args.vehicleId);
  }

  async retireVehicle(args: BridgeArgs<'retireVehicle'>): Promise<FleetVehicleView> {
    const session = this.#o.session();
    const locationId = await this.#fleetDepotOf(session, 'vehicle', args.vehicleId);
    await this.#queue(session, locationId, { type: 'vehicle.retire', vehicleId: args.vehicleId });
    return this.#vehicle(session, locationId, args.vehicleId);
  }
}
