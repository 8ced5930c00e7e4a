import crypto from 'node:crypto';
import type { Change, Driver, LocationAccess, Mutation, Route, Stop, Vehicle } from '@depotline/shared';

/**
 * Builders for what the server sends, in the spirit of Outline's `buildUser`: every field has
 * a plausible default and each call gets unique ids and unique, greppable customer data.
 */
let counter = 0;
const next = () => `${Date.now().toString(36)}${(counter++).toString(36)}${crypto.randomBytes(2).toString('hex')}`;

export function buildLocationAccess(overrides: Partial<LocationAccess['location']> = {}, permissions: string[] = ['location.read', 'stop.readCustomer', 'stop.readPhone', 'stop.readNotes', 'stop.setStatus', 'stop.editNotes', 'stop.edit', 'route.edit']): LocationAccess {
  const id = overrides.id ?? `loc-${next()}`;
  return {
    location: { id, name: overrides.name ?? `Depot ${id}`, timezone: overrides.timezone ?? 'Europe/Berlin' },
    permissions,
    roles: ['dispatcher'],
    expiresAt: null,
  };
}

export function buildRoute(locationId: string, overrides: Partial<Route> = {}): Route {
  return {
    id: `route-${next()}`, locationId, name: `Route ${next()}`, date: '2026-03-02', driverId: null, vehicleId: null,
    version: 1, updatedAt: 1_700_000_000_000, updatedBy: 'dispatcher', ...overrides,
  };
}

/** A stop with unique customer PII: name, address and phone are distinctive strings to scan for. */
export function buildStop(locationId: string, routeId: string, overrides: Partial<Stop> = {}): Stop {
  const tag = next();
  return {
    id: `stop-${tag}`, locationId, routeId, sequence: 0,
    customerName: `Customer Zq${tag}`, address: `${tag} Lindenstrasse, Berlin`, phone: `+49 30 ${String(parseInt(tag.slice(-6), 36) % 10_000_000).padStart(7, '0')}`,
    notes: `Leave with neighbour ${tag}`,
    // In the order of the shared Stop schema: a parsed copy serialises the same.
    orderRef: `SO-${tag}`, parcelCount: 1, barcodes: [`BCZq${tag}`], coordinates: { lat: 52.52, lng: 13.405 }, email: `zq${tag}@example.com`,
    minimumAge: null, idCheck: false, paymentRef: `PAYZq${tag}`, codAmount: null, deliveryFee: 490, currency: 'EUR',
    failureReason: null, failureNote: null,
    window: { start: 1_700_000_000_000, end: 1_700_003_600_000 }, status: 'planned', eta: null,
    version: 1, updatedAt: 1_700_000_000_000, updatedBy: 'dispatcher', ...overrides,
  };
}

export function buildDriver(locationId: string, overrides: Partial<Driver> = {}): Driver {
  return { id: `driver-${next()}`, locationId, name: `Driver ${next()}`, userId: null, ...overrides };
}

export function buildVehicle(locationId: string, overrides: Partial<Vehicle> = {}): Vehicle {
  return { id: `van-${next()}`, locationId, label: `Van ${next()}`, plate: `B-DL ${counter}`, ...overrides };
}

export function routeChange(route: Route, version = route.version): Change {
  return { entity: 'route', locationId: route.locationId, version, data: { ...route, version } };
}

export function stopChange(stop: Stop, version = stop.version): Change {
  return { entity: 'stop', locationId: stop.locationId, version, data: { ...stop, version } };
}

export function setStatus(stop: Stop, to: Stop['status'], createdAt = Date.now()): Mutation {
  return { id: crypto.randomUUID(), type: 'stop.setStatus', locationId: stop.locationId, createdAt, stopId: stop.id, to };
}

export function editNotes(stop: Stop, notes: string, createdAt = Date.now()): Mutation {
  return { id: crypto.randomUUID(), type: 'stop.editNotes', locationId: stop.locationId, createdAt, stopId: stop.id, notes };
}

/** The PII strings of stops, for scanning files. */
export function piiOf(stops: readonly Stop[]): string[] {
  return stops.flatMap((s) => [s.customerName, s.address, s.phone, s.notes].filter((v): v is string => typeof v === 'string'));
}

/** A stop as the server sends it once pseudonymised (retention or erasure): the identity gone, the facts kept. */
export function pseudonymisedChange(stop: Stop, version: number): Change {
  const { customerName: _n, address: _a, notes: _o, ...facts } = stop;
  return {
    entity: 'stop', locationId: stop.locationId, version,
    data: { ...facts, phone: null, email: null, coordinates: null, paymentRef: null, failureNote: null, pseudonymised: true, version },
  };
}
