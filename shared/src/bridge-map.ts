import { z } from 'zod';
import { EntityId, Latitude, Longitude, StopStatus, Timestamp } from './domain';

/*
 * The map's part of the bridge (bridge.ts lists the calls): the stops of the routes the board
 * shows, in stop order, where they are; the positions of those routes' drivers; and the depot's
 * tile server, when IT configured one. What a stop row may show is the board's rule: customer
 * fields and coordinates only for viewers who may see customers, drivers only with
 * `position.read`.
 */

/** Most routes one map request names (the board's page of routes). */
export const mapRouteLimit = 5000;

export const MapRouteView = z.object({
  id: EntityId,
  name: z.string().max(200),
  driverName: z.string().max(200).nullable(),
});
export type MapRouteView = z.infer<typeof MapRouteView>;

const StopFacts = {
  id: EntityId,
  routeId: EntityId,
  sequence: z.number().int().nonnegative(),
  status: StopStatus,
  /** Absent when the viewer may not see customers. */
  customerName: z.string().max(200).optional(),
  address: z.string().max(500).optional(),
};

/** A stop the map draws. */
export const MapStopView = z.object({ ...StopFacts, lat: Latitude, lng: Longitude });
export type MapStopView = z.infer<typeof MapStopView>;

/** A stop the map cannot draw, and why: the order has no coordinates, or the viewer may not see where it is. */
export const UnplacedStopView = z.object({ ...StopFacts, reason: z.enum(['no_coordinates', 'hidden']) });
export type UnplacedStopView = z.infer<typeof UnplacedStopView>;

export const MapDriverView = z.object({
  driverId: EntityId,
  driverName: z.string().max(200).nullable(),
  /** The routes among those asked for that this driver drives. */
  routeIds: z.array(EntityId).max(mapRouteLimit),
  lat: Latitude,
  lng: Longitude,
  headingDeg: z.number().min(0).max(360).nullable(),
  recordedAt: Timestamp,
});
export type MapDriverView = z.infer<typeof MapDriverView>;

/** The depot's tile server (raster, `{z}/{x}/{y}`), from the console's managed policy. */
export const MapTilesView = z.object({
  urlTemplate: z.string().max(2048),
  attribution: z.string().max(300).nullable(),
  maxZoom: z.number().int().min(1).max(22),
});
export type MapTilesView = z.infer<typeof MapTilesView>;

export const RouteMapView = z.object({
  /** The routes asked for, in the order asked. */
  routes: z.array(MapRouteView).max(mapRouteLimit),
  /** Per route in that order, by sequence: the line of a route joins its stops in this order. */
  stops: z.array(MapStopView),
  unplaced: z.array(UnplacedStopView),
  drivers: z.array(MapDriverView),
  /** False when the viewer may not see driver positions (then `drivers` is empty). */
  positionsShown: z.boolean(),
  /** null: no tile server configured; the map draws on a plain canvas and asks nobody for tiles. */
  tiles: MapTilesView.nullable(),
});
export type RouteMapView = z.infer<typeof RouteMapView>;

export const mapBridgeCalls = {
  routeMap: {
    args: z.object({ locationId: EntityId, routeIds: z.array(EntityId).max(mapRouteLimit) }).strict(),
    result: RouteMapView,
  },
} as const;
