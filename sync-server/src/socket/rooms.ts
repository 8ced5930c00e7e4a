import { type Permission, stopRedactionPermissions } from '@depotline/shared';
import { Adapter } from 'socket.io-adapter';
import { viewAt } from '../access/access-profile';
import type { SyncServer, SyncSocket } from './socket-types';

/**
 * Socket rooms per location and view. A socket joins the general room of its view class
 * (which redactable fields and whether live positions it may see) and, for drivers, a
 * personal room that receives only their own routes. Emitting to rooms (not looping over
 * sockets) keeps fan-out cheap and works unchanged with the Redis adapter across processes.
 */
export const viewBits: readonly Permission[] = [...stopRedactionPermissions, 'position.read'];

export function viewClassOf(perms: ReadonlySet<Permission>): string {
  return viewBits.map((p) => (perms.has(p) ? '1' : '0')).join('');
}

/**
 * The view classes a socket can be in: every combination of the view bits. Role templates alone
 * reach only a few, but a permission group may allow or deny any of these permissions, so any
 * combination can be a live socket's class. Derived from the catalogue, not from the sockets
 * connected, so it holds across server processes.
 */
export const reachableViewClasses: readonly string[] = Array.from({ length: 2 ** viewBits.length }, (_, n) =>
  viewBits.map((_p, i) => ((n >> (viewBits.length - 1 - i)) & 1 ? '1' : '0')).join('')).sort();

export const generalRoom = (locationId: string, viewClass: string) => `loc:${locationId}:g:${viewClass}`;
export const driverRoom = (locationId: string, userId: string) => `loc:${locationId}:d:${userId}`;
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
export const userRoom = (userId: string) => `user:${userId}`;

/**
 * Whether anyone may be listening in a room, so the live feed can skip work nobody receives.
 * Only the in-memory default adapter holds every socket (they are all in this process). A
 * cross-process adapter (the Redis streams adapter of adapter.ts, a subclass of the default)
 * lists only this process's sockets here, and the room may be full on another process, so it
 * answers "someone may be listening": nothing is skipped. (Asking the other processes, or
 * keeping a shared list of rooms, would race with a console joining there: a change committed
 * before the news arrived would be skipped, and that console would never receive it.)
 */
export function roomMayHaveListeners(io: SyncServer, room: string): boolean {
  const adapter = io.of('/').adapter;
  if (Object.getPrototypeOf(adapter) !== Adapter.prototype) return true;
  return (adapter.rooms.get(room)?.size ?? 0) > 0;
}

/** Whether anyone may be listening in any room of a location (its general rooms or a driver's). */
export function locationMayHaveListeners(io: SyncServer, locationId: string): boolean {
  const adapter = io.of('/').adapter;
  if (Object.getPrototypeOf(adapter) !== Adapter.prototype) return true;
  if (reachableViewClasses.some((viewClass) => roomMayHaveListeners(io, generalRoom(locationId, viewClass)))) return true;
  const drivers = driverRoom(locationId, '');
  for (const [room, sockets] of adapter.rooms) if (sockets.size > 0 && room.startsWith(drivers)) return true;
  return false;
}

export function permsOfClass(viewClass: string): Set<Permission> {
  const perms = new Set<Permission>(['location.read']);
  viewBits.forEach((p, i) => viewClass[i] === '1' && perms.add(p));
  return perms;
}

/** Puts the socket in the rooms its grants allow right now (and takes it out of the others). */
export function joinLocationRooms(socket: SyncSocket, now: number): { dropped: string[] } {
  const { profile, principal } = socket.data;
  const wanted = new Set<string>([sessionRoom(principal.sessionId), userRoom(principal.userId), socket.id]);
  for (const locationId of profile.byLocation.keys()) {
    const view = viewAt(profile, locationId, now);
    if (!view) continue;
    if (view.general.has('location.read')) wanted.add(generalRoom(locationId, viewClassOf(view.general)));
    if (view.assigned.has('location.read')) wanted.add(driverRoom(locationId, principal.userId));
  }
  const dropped = new Set<string>();
  for (const room of socket.rooms) {
    if (!wanted.has(room)) {
      void socket.leave(room);
      const loc = /^loc:(.+):[gd]:[^:]+$/.exec(room)?.[1];
      if (loc && !viewAt(profile, loc, now)) dropped.add(loc);
    }
  }
  void socket.join([...wanted]);
  return { dropped: [...dropped] };
}
