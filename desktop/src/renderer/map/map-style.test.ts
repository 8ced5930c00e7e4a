import { describe, expect, it } from 'vitest';
import type { MapStopView } from '@depotline/shared';
import { baseStyle, boundsOf, graticule, routeColor, routeLines } from './map-style';

const stop = (id: string, routeId: string, sequence: number, lat: number, lng: number): MapStopView => ({ id, routeId, sequence, status: 'planned', lat, lng });

describe('the map style', () => {
  it('without a tile server: a plain canvas that names no source to load', () => {
    const style = baseStyle(null);
    expect(style.sources).toEqual({});
    expect(style.glyphs).toBeUndefined();
    expect(style.sprite).toBeUndefined();
    expect(JSON.stringify(style)).not.toMatch(/https?:|\/\//);
  });

  it('with one: its raster tiles and nothing else (no glyphs, no sprite)', () => {
    const style = baseStyle({ urlTemplate: 'https://tiles.depot.example/{z}/{x}/{y}.png', attribution: null, maxZoom: 18 });
    expect(style.sources).toEqual({ tiles: { type: 'raster', tiles: ['https://tiles.depot.example/{z}/{x}/{y}.png'], tileSize: 256, maxzoom: 18 } });
    expect(JSON.stringify(style).match(/https?:\/\/[^"]+/g)).toEqual(['https://tiles.depot.example/{z}/{x}/{y}.png']);
  });

  it('draws each route as one line through its stops in stop order, in the route\'s colour', () => {
    const lines = routeLines({
      routes: [{ id: 'r1', name: 'A', driverName: null }, { id: 'r2', name: 'B', driverName: null }, { id: 'r3', name: 'C', driverName: null }],
      stops: [stop('b', 'r1', 1, 2, 20), stop('a', 'r1', 0, 1, 10), stop('c', 'r1', 2, 3, 30), stop('x', 'r2', 0, 5, 5), stop('y', 'r2', 1, 6, 6), stop('lonely', 'r3', 0, 0, 0)],
    });
    expect(lines.features.map((f) => [f.properties?.['routeId'], f.properties?.['color'], f.geometry.coordinates])).toEqual([
      ['r1', routeColor(0), [[10, 1], [20, 2], [30, 3]]],
      ['r2', routeColor(1), [[5, 5], [6, 6]]],
    ]);
  });

  it('frames stops and drivers, and lays a grid around them on the plain canvas', () => {
    const bounds = boundsOf({ stops: [stop('a', 'r1', 0, 53.40, -2.99), stop('b', 'r1', 1, 53.42, -2.97)], drivers: [{ driverId: 'd', driverName: null, routeIds: [], lat: 53.43, lng: -3.0, headingDeg: null, recordedAt: 1 }] });
    expect(bounds).toEqual([[-3.0, 53.40], [-2.97, 53.43]]);
    expect(boundsOf({ stops: [], drivers: [] })).toBeNull();
    const grid = graticule(bounds);
    expect(grid.features.length).toBeGreaterThan(4);
    expect(grid.features.length).toBeLessThan(80);
    expect(graticule(null).features).toEqual([]);
  });
});
