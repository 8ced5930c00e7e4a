import {
  redactStopForViewer, type BridgeArgs, type DriverPosition, type MapDriverView, type MapRouteView, type MapStopView, type MapTilesView,
  type Permission, type Route, type RouteMapView, type Stop, type UnplacedStopView,
} from '@depotline/shared';
import type { UnlockedSession } from './console-data';
import { ConsoleError } from './console-error';
import { permissionsOf } from './console-views';
import type { MapTilesPolicy } from './map-tiles';

export interface ConsoleMapOptions {
  /** The unlocked session; throws ConsoleError `locked` or `not_signed_in` otherwise. */
  session: () => UnlockedSession;
  /** The depot's tile server from the managed policy; null: none (a plain canvas). */
  tiles: MapTilesPolicy | null;
}

/**
 * The map's data: the stops of the routes the board shows, where they are, and where those
 * routes' drivers were last reported, from the local store (so it works offline too). What a
 * stop may show follows the same redaction as the board (`redactStopForViewer`): a viewer who may
 * not see customers sees no coordinates either, and those stops are listed as not on the map.
 */
export class ConsoleMap {
  readonly #o: ConsoleMapOptions;

  constructor(options: ConsoleMapOptions) {
    this.#o = options;
  }

  async routeMap(args: BridgeArgs<'routeMap'>): Promise<RouteMapView> {
    const session = this.#o.session();
    const location = (await session.store.locations()).find((l) => l.id === args.locationId);
    if (!location) throw new ConsoleError('forbidden', 'That depot is not available to you.');
    const permissions = permissionsOf(location);
    const drivers = new Map((await session.store.drivers(args.locationId)).map((d) => [d.id, d]));

    const routes: Route[] = [];
    for (const routeId of new Set(args.routeIds)) {
      const route = await session.store.route(routeId);
      if (route && route.locationId === args.locationId) routes.push(route);
    }
    const stops: Array<{ route: Route; stops: Stop[] }> = [];
    for (const route of routes) stops.push({ route, stops: (await session.store.stopsOfRoute(route.id)).filter((s) => s.locationId === args.locationId) });

    const positionsShown = permissions.has('position.read');
    const positions = positionsShown ? await session.store.positions(args.locationId) : [];
    return toRouteMapView({
      routes, stops, positions, permissions, positionsShown,
      driverName: (id) => (id ? drivers.get(id)?.name ?? null : null),
      tiles: this.#o.tiles,
    });
  }
}

/** The map view from what the store holds (pure, for tests). */
export function toRouteMapView(input: {
  routes: readonly Route[];
  stops: ReadonlyArray<{ route: Route; stops: readonly Stop[] }>;
  positions: readonly DriverPosition[];
  permissions: ReadonlySet<Permission>;
  positionsShown: boolean;
  driverName: (driverId: string | null) => string | null;
  tiles: MapTilesPolicy | null;
}): RouteMapView {
  const placed: MapStopView[] = [];
  const unplaced: UnplacedStopView[] = [];
  for (const { stops } of input.stops) {
    for (const stop of [...stops].sort((a, b) => a.sequence - b.sequence)) {
      const seen = redactStopForViewer(stop, input.permissions);
      const facts = {
        id: stop.id, routeId: stop.routeId, sequence: stop.sequence, status: stop.status,
        ...(seen.customerName !== undefined ? { customerName: seen.customerName } : {}),
        ...(seen.address !== undefined ? { address: seen.address } : {}),
      };
      if (seen.coordinates) placed.push({ ...facts, lat: seen.coordinates.lat, lng: seen.coordinates.lng });
      else unplaced.push({ ...facts, reason: seen.coordinates === undefined ? 'hidden' : 'no_coordinates' });
    }
  }

  const routesOf = new Map<string, string[]>();
  for (const route of input.routes) {
    if (route.driverId) routesOf.set(route.driverId, [...(routesOf.get(route.driverId) ?? []), route.id]);
  }
  const drivers: MapDriverView[] = input.positionsShown
    ? input.positions.filter((p) => routesOf.has(p.driverId)).map((p) => ({
      driverId: p.driverId, driverName: input.driverName(p.driverId), routeIds: routesOf.get(p.driverId) ?? [],
      lat: p.lat, lng: p.lng, headingDeg: p.headingDeg, recordedAt: p.recordedAt,
    }))
    : [];

  const routes: MapRouteView[] = input.routes.map((r) => ({ id: r.id, name: r.name, driverName: input.driverName(r.driverId) }));
  return { routes, stops: placed, unplaced, drivers, positionsShown: input.positionsShown, tiles: tilesView(input.tiles) };
}

function tilesView(tiles: MapTilesPolicy | null): MapTilesView | null {
  return tiles ? { urlTemplate: tiles.url, attribution: tiles.attribution ?? null, maxZoom: tiles.maxZoom } : null;
}
