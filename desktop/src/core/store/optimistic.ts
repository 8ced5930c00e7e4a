import { canTransitionStop, type DriverPosition, type Mutation, type Route, type Stop } from '@depotline/shared';
import { assertNever, LocalEditRefusedError } from '../errors';
import type { EntityByKind } from './entity-tables';

/** The entity a mutation changes. Positions are keyed by driver. */
export type MutationTarget =
  | { kind: 'stop'; id: string }
  | { kind: 'route'; id: string }
  | { kind: 'position'; id: string };
export type TargetKind = MutationTarget['kind'];
export type TargetEntity = EntityByKind[TargetKind];

export function targetOf(m: Mutation): MutationTarget {
  switch (m.type) {
    case 'stop.setStatus':
    case 'stop.editNotes':
    case 'stop.create':
    case 'stop.update':
      return { kind: 'stop', id: m.stopId };
    case 'route.create':
    case 'route.assign':
      return { kind: 'route', id: m.routeId };
    case 'position.report':
      return { kind: 'position', id: m.driverId };
    default:
      return assertNever(m);
  }
}

/**
 * What the edit does to the entity as this device sees it, before the server has answered.
 * Pure: the same function replays pending edits on top of a fresh server state. Versions stay
 * at the server version the edit was based on (0 for a new entity), so the server's own
 * change for the edit always wins once it arrives.
 */
export function applyMutation(m: Mutation, current: TargetEntity | null): TargetEntity | null {
  switch (m.type) {
    case 'stop.setStatus':
      return editStop(current, (s) => ({ ...s, status: m.to, updatedAt: m.createdAt }));
    case 'stop.editNotes':
      return editStop(current, (s) => ({ ...s, notes: m.notes, updatedAt: m.createdAt }));
    case 'stop.update':
      return editStop(current, (s) => ({ ...s, ...m.changes, updatedAt: m.createdAt }));
    case 'stop.create': {
      if (current) return current;
      const stop: Stop = {
        id: m.stopId, locationId: m.locationId, routeId: m.routeId, sequence: m.sequence,
        customerName: m.customerName, address: m.address, phone: m.phone, notes: m.notes, window: m.window,
        status: 'planned', eta: null, version: 0, updatedAt: m.createdAt, updatedBy: null,
      };
      return stop;
    }
    case 'route.create': {
      if (current) return current;
      const route: Route = {
        id: m.routeId, locationId: m.locationId, name: m.name, date: m.date, driverId: null, vehicleId: null,
        version: 0, updatedAt: m.createdAt, updatedBy: null,
      };
      return route;
    }
    case 'route.assign':
      return editRoute(current, (r) => ({ ...r, driverId: m.driverId, vehicleId: m.vehicleId, updatedAt: m.createdAt }));
    case 'position.report': {
      const previous = current && 'driverId' in current && 'lat' in current ? current : null;
      const position: DriverPosition = {
        driverId: m.driverId, locationId: m.locationId, lat: m.lat, lng: m.lng, headingDeg: m.headingDeg,
        speedKmh: m.speedKmh, recordedAt: m.createdAt, version: previous?.version ?? 0,
      };
      return position;
    }
    default:
      return assertNever(m);
  }
}

/**
 * Refuses an edit that cannot succeed given what this device knows, so the outbox holds only
 * edits worth sending. The server checks again; this is for the user, not for security.
 */
export function checkLocalEdit(m: Mutation, current: TargetEntity | null, routeOfNewStop: Route | null): void {
  if (current && current.locationId !== m.locationId) {
    throw new LocalEditRefusedError('bad_request', 'the edit names a different location than the record it changes');
  }
  switch (m.type) {
    case 'stop.setStatus': {
      const stop = requireExisting(asStop(current), 'stop', m.stopId);
      if (!canTransitionStop(stop.status, m.to)) {
        throw new LocalEditRefusedError('invalid_transition', `a ${stop.status} stop cannot become ${m.to}`);
      }
      return;
    }
    case 'stop.editNotes':
    case 'stop.update':
      requireExisting(asStop(current), 'stop', m.stopId);
      return;
    case 'route.assign':
      requireExisting(asRoute(current), 'route', m.routeId);
      return;
    case 'stop.create':
      if (current) throw new LocalEditRefusedError('already_exists', `stop ${m.stopId} already exists`);
      if (!routeOfNewStop || routeOfNewStop.locationId !== m.locationId) {
        throw new LocalEditRefusedError('not_found', `route ${m.routeId} is not known at this location`);
      }
      return;
    case 'route.create':
      if (current) throw new LocalEditRefusedError('already_exists', `route ${m.routeId} already exists`);
      return;
    case 'position.report':
      return;
    default:
      assertNever(m);
  }
}

function requireExisting<T>(entity: T | null, kind: string, id: string): T {
  if (!entity) throw new LocalEditRefusedError('not_found', `${kind} ${id} is not known on this device`);
  return entity;
}

function editStop(e: TargetEntity | null, edit: (s: Stop) => Stop): Stop | null {
  const stop = asStop(e);
  return stop ? edit(stop) : null;
}

function editRoute(e: TargetEntity | null, edit: (r: Route) => Route): Route | null {
  const route = asRoute(e);
  return route ? edit(route) : null;
}

function asStop(e: TargetEntity | null): Stop | null {
  return e && 'routeId' in e ? e : null;
}

function asRoute(e: TargetEntity | null): Route | null {
  return e && 'date' in e && 'name' in e ? e : null;
}
