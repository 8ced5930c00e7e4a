import { type Change, type Permission, redactStopForViewer, roleTemplates } from '@depotline/shared';
import type { Server } from 'socket.io';
import type { ServerContext } from '../context';
import { driverUserOfRoute } from './entities';
import type { Touched } from './mutations';
import { loadEntityChanges } from './pull';

/**
 * Socket rooms per location and view. A socket joins the general room of its view class
 * (which redactable fields and whether live positions it may see) and, for drivers, a
 * personal room that receives only their own routes. Emitting to rooms (not looping over
 * sockets) keeps fan-out cheap and works unchanged with the Redis adapter across processes.
 */
export const viewBits: readonly Permission[] = ['stop.readCustomer', 'stop.readPhone', 'stop.readNotes', 'position.read'];

export function viewClassOf(perms: ReadonlySet<Permission>): string {
  return viewBits.map((p) => (perms.has(p) ? '1' : '0')).join('');
}

/**
 * The view classes a socket can be in: the general permissions of every combination of
 * non-driver role templates (a user may hold several roles at one location). Derived from the
 * catalogue, not from the sockets connected, so it holds across server processes; emitting to
 * these few rooms instead of all 16 bit patterns saves encoding a change for rooms nobody
 * can be in.
 */
export const reachableViewClasses: readonly string[] = (() => {
  const templates = Object.values(roleTemplates).filter((t) => !t.assignedRoutesOnly && t.permissions.includes('location.read'));
  const classes = new Map<string, Set<Permission>>();
  for (const t of templates) classes.set(viewClassOf(new Set(t.permissions)), new Set(t.permissions));
  for (let grew = true; grew; ) {
    grew = false;
    for (const a of [...classes.values()]) {
      for (const b of [...classes.values()]) {
        const union = new Set([...a, ...b]);
        const key = viewClassOf(union);
        if (!classes.has(key)) {
          classes.set(key, union);
          grew = true;
        }
      }
    }
  }
  return [...classes.keys()].sort();
})();

export const generalRoom = (locationId: string, viewClass: string) => `loc:${locationId}:g:${viewClass}`;
export const driverRoom = (locationId: string, userId: string) => `loc:${locationId}:d:${userId}`;
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
export const userRoom = (userId: string) => `user:${userId}`;

function permsOfClass(viewClass: string): Set<Permission> {
  const perms = new Set<Permission>(['location.read']);
  viewBits.forEach((p, i) => viewClass[i] === '1' && perms.add(p));
  return perms;
}

export type DriverPermissionLookup = (userId: string, locationId: string) => Promise<ReadonlySet<Permission> | null>;

/** Sends committed changes to every socket allowed to see them, redacted per view class. */
export async function broadcastTouched(ctx: ServerContext, io: Server, touched: readonly Touched[], driverPerms: DriverPermissionLookup): Promise<void> {
  const byLocation = new Map<string, Touched[]>();
  for (const t of touched) byLocation.set(t.locationId, [...(byLocation.get(t.locationId) ?? []), t]);
  const routeDrivers = new Map<string, string | null>();
  const driverOf = async (routeId: string) => {
    if (!routeDrivers.has(routeId)) routeDrivers.set(routeId, await driverUserOfRoute(ctx.db, routeId));
    return routeDrivers.get(routeId)!;
  };
  for (const [locationId, items] of byLocation) {
    const changes = await loadEntityChanges(ctx, locationId, items);
    for (const t of items) {
      const change = changes.get(`${t.entity}:${t.id}`);
      if (!change) continue;
      await emitChange(io, change, t, driverPerms, driverOf);
    }
  }
}

async function emitChange(io: Server, change: Change, t: Touched, driverPerms: DriverPermissionLookup, driverOf: (routeId: string) => Promise<string | null>): Promise<void> {
  const loc = change.locationId;
  // Drivers first: a user in both a driver room and a general room keeps the richer copy,
  // because the device applies only strictly newer versions.
  if (change.entity === 'stop' || change.entity === 'route') {
    const routeId = change.entity === 'stop' ? change.data.routeId : change.data.id;
    const driverUser = await driverOf(routeId);
    if (driverUser) {
      const perms = await driverPerms(driverUser, loc);
      if (perms?.has('location.read')) {
        const data = change.entity === 'stop' ? { ...change, data: redactStopForViewer(change.data, perms) } : change;
        io.to(driverRoom(loc, driverUser)).emit('sync:change', data);
      }
    }
    if (change.entity === 'route' && t.previousDriverUserId && t.previousDriverUserId !== driverUser) {
      io.to(driverRoom(loc, t.previousDriverUserId)).emit('sync:change', {
        entity: 'removed', locationId: loc, version: change.version, data: { kind: 'route', id: change.data.id },
      });
    }
  }
  for (const viewClass of reachableViewClasses) {
    const perms = permsOfClass(viewClass);
    if (change.entity === 'position' && !perms.has('position.read')) continue;
    const data = change.entity === 'stop' ? { ...change, data: redactStopForViewer(change.data, perms) } : change;
    io.to(generalRoom(loc, viewClass)).emit('sync:change', data);
  }
}
