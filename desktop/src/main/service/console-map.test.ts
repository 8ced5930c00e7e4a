import { describe, expect, it } from 'vitest';
import { permissionsOfRole, RouteMapView, type DriverPosition, type Permission, type Route, type Stop } from '@depotline/shared';
import { toRouteMapView } from './console-map';

const route = (id: string, driverId: string | null): Route => ({
  id, locationId: 'depot-a', name: `Route ${id}`, date: '2026-11-30', driverId, vehicleId: null, version: 1, updatedAt: 1, updatedBy: null,
});
const stop = (id: string, routeId: string, sequence: number, coordinates: { lat: number; lng: number } | null): Stop => ({
  id, locationId: 'depot-a', routeId, sequence, customerName: `Customer ${id}`, address: `${sequence} Dock Road`, phone: '+44 151 000 0000',
  notes: 'ring twice', window: { start: 1, end: 2 }, status: 'planned', eta: null, version: 1, updatedAt: 1, updatedBy: null, coordinates,
}) as unknown as Stop;
const position = (driverId: string, lat: number, lng: number): DriverPosition => ({
  driverId, locationId: 'depot-a', lat, lng, headingDeg: null, speedKmh: null, recordedAt: 5, version: 1,
});

function mapFor(permissions: ReadonlySet<Permission>, tiles: Parameters<typeof toRouteMapView>[0]['tiles'] = null) {
  const r1 = route('r1', 'drv-1');
  const r2 = route('r2', null);
  return RouteMapView.parse(toRouteMapView({
    routes: [r1, r2],
    // Out of order on purpose: the map draws a route's line in stop order.
    stops: [
      { route: r1, stops: [stop('s2', 'r1', 1, { lat: 53.41, lng: -2.98 }), stop('s1', 'r1', 0, { lat: 53.40, lng: -2.99 }), stop('s3', 'r1', 2, null)] },
      { route: r2, stops: [stop('s4', 'r2', 0, { lat: 53.39, lng: -2.97 })] },
    ],
    positions: [position('drv-1', 53.405, -2.985), position('drv-elsewhere', 51.5, -0.1)],
    permissions,
    positionsShown: permissions.has('position.read'),
    driverName: (id) => (id === 'drv-1' ? 'Dana Driver' : null),
    tiles,
  }));
}

describe('the board map view', () => {
  it('places stops with coordinates in stop order, lists the others, and shows the drivers of these routes only', () => {
    const view = mapFor(permissionsOfRole('dispatcher'));
    expect(view.routes).toEqual([{ id: 'r1', name: 'Route r1', driverName: 'Dana Driver' }, { id: 'r2', name: 'Route r2', driverName: null }]);
    expect(view.stops.map((s) => s.id)).toEqual(['s1', 's2', 's4']);
    expect(view.stops[0]).toMatchObject({ customerName: 'Customer s1', address: '0 Dock Road', lat: 53.40, lng: -2.99 });
    expect(view.unplaced).toEqual([expect.objectContaining({ id: 's3', reason: 'no_coordinates' })]);
    expect(view.drivers).toEqual([{ driverId: 'drv-1', driverName: 'Dana Driver', routeIds: ['r1'], lat: 53.405, lng: -2.985, headingDeg: null, recordedAt: 5 }]);
    expect(view.tiles).toBeNull();
    // Never a phone number or notes on the map.
    expect(JSON.stringify(view)).not.toMatch(/\+44|ring twice/);
  });

  it('a viewer who may not see customers sees no coordinates either: every stop is "not on the map", hidden', () => {
    const view = mapFor(permissionsOfRole('reporting'));
    expect(view.stops).toEqual([]);
    expect(view.unplaced.map((s) => [s.id, s.reason])).toEqual([['s1', 'hidden'], ['s2', 'hidden'], ['s3', 'hidden'], ['s4', 'hidden']]);
    expect(JSON.stringify(view)).not.toMatch(/Customer|Dock Road/);
    expect(view.positionsShown).toBe(permissionsOfRole('reporting').has('position.read'));
  });

  it('no driver positions without position.read', () => {
    const permissions = new Set(permissionsOfRole('dispatcher'));
    permissions.delete('position.read');
    const view = mapFor(permissions);
    expect(view.positionsShown).toBe(false);
    expect(view.drivers).toEqual([]);
  });

  it('carries the configured tile server to the page', () => {
    const view = mapFor(permissionsOfRole('dispatcher'), { url: 'https://tiles.depot.example/{z}/{x}/{y}.png', attribution: '© OSM', maxZoom: 18 });
    expect(view.tiles).toEqual({ urlTemplate: 'https://tiles.depot.example/{z}/{x}/{y}.png', attribution: '© OSM', maxZoom: 18 });
  });
});
