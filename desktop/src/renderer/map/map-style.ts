import type { MapStopView, MapTilesView, RouteMapView } from '@depotline/shared';
import type { StyleSpecification } from 'maplibre-gl';

/**
 * The map's style, written here rather than fetched: no style JSON, sprite or glyphs are loaded
 * from anywhere. With the depot's tile server, its raster tiles are the background; without
 * one, a plain projected canvas (Web Mercator, like the tiles) with a light grid of latitude and
 * longitude lines, so distances and directions still read right.
 */

/** Route colours, picked in order; readable on both a tile background and the plain canvas. */
export const routePalette = ['#1f6f8b', '#c2571a', '#6a4bb3', '#2e7d4f', '#b3261e', '#8a6d00', '#0f7d7a', '#a23b72', '#3a5bbf', '#5b6b2f'] as const;

export const routeColor = (index: number): string => routePalette[index % routePalette.length]!;

export const canvasBackground = '#eef1f4';

export function baseStyle(tiles: MapTilesView | null): StyleSpecification {
  if (tiles) {
    return {
      version: 8,
      sources: { tiles: { type: 'raster', tiles: [tiles.urlTemplate], tileSize: 256, maxzoom: tiles.maxZoom } },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': canvasBackground } },
        { id: 'tiles', type: 'raster', source: 'tiles' },
      ],
    };
  }
  return {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': canvasBackground } }],
  };
}

export type Bounds = [[number, number], [number, number]];

/** The GeoJSON the map's line sources take (lines only). */
export interface LineFeature {
  type: 'Feature';
  properties: Record<string, string>;
  geometry: { type: 'LineString'; coordinates: number[][] };
}
export interface LineCollection {
  type: 'FeatureCollection';
  features: LineFeature[];
}

/** The box around every stop and driver shown ([[west, south], [east, north]]), or null when there is none. */
export function boundsOf(view: Pick<RouteMapView, 'stops' | 'drivers'>): Bounds | null {
  const points = [...view.stops, ...view.drivers];
  if (points.length === 0) return null;
  let [west, south, east, north] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of points) {
    west = Math.min(west, p.lng);
    east = Math.max(east, p.lng);
    south = Math.min(south, p.lat);
    north = Math.max(north, p.lat);
  }
  return [[west, south], [east, north]];
}

/** One line per route, through its stops in stop order (stops without coordinates are skipped). */
export function routeLines(view: Pick<RouteMapView, 'routes' | 'stops'>): LineCollection {
  const byRoute = new Map<string, MapStopView[]>();
  for (const s of view.stops) byRoute.set(s.routeId, [...(byRoute.get(s.routeId) ?? []), s]);
  const features: LineFeature[] = [];
  view.routes.forEach((route, index) => {
    const stops = (byRoute.get(route.id) ?? []).sort((a, b) => a.sequence - b.sequence);
    if (stops.length < 2) return;
    features.push({
      type: 'Feature',
      properties: { routeId: route.id, color: routeColor(index) },
      geometry: { type: 'LineString', coordinates: stops.map((s) => [s.lng, s.lat]) },
    });
  });
  return { type: 'FeatureCollection', features };
}

/**
 * A latitude/longitude grid over `bounds` (with a margin), about six lines each way at a round
 * step, for the plain canvas.
 */
export function graticule(bounds: Bounds | null): LineCollection {
  if (!bounds) return { type: 'FeatureCollection', features: [] };
  const [[west, south], [east, north]] = bounds;
  const span = Math.max(east - west, north - south, 0.01);
  const step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 45].find((s) => span / s <= 6) ?? 45;
  const pad = span * 2;
  const clampLat = (v: number) => Math.max(-85, Math.min(85, v));
  const [w, e] = [Math.floor((west - pad) / step) * step, Math.ceil((east + pad) / step) * step];
  const [s, n] = [clampLat(Math.floor((south - pad) / step) * step), clampLat(Math.ceil((north + pad) / step) * step)];
  const features: LineFeature[] = [];
  for (let lng = w; lng <= e + step / 2; lng += step) features.push(line([[lng, s], [lng, n]]));
  for (let lat = s; lat <= n + step / 2; lat += step) features.push(line([[w, lat], [e, lat]]));
  return { type: 'FeatureCollection', features };
}

function line(coordinates: Array<[number, number]>): LineFeature {
  return { type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates } };
}
