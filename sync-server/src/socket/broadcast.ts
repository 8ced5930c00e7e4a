import { type Change, type Permission, redactStopForViewer } from '@depotline/shared';
import { type AccessProfile, loadAccessProfile, viewAt } from '../access/access-profile';
import type { ServerContext } from '../context';
import { driverUserOfOpenRoute } from '../sync/driver-queries';
import type { LiveFeed, Touched } from '../sync/mutations/handler';
import { loadEntityChanges } from '../sync/pull';
import { driverRoom, generalRoom, locationMayHaveListeners, permsOfClass, reachableViewClasses, roomMayHaveListeners } from './rooms';
import type { SyncServer } from './socket-types';

type DriverPermissionLookup = (userId: string, locationId: string) => Promise<ReadonlySet<Permission> | null>;

/**
 * The live feed: committed changes go to the rooms allowed to see them, redacted once per view
 * class. Built once the socket server exists and handed explicitly to whatever commits changes
 * (the push over REST and over sockets).
 */
export function createLiveFeed(ctx: ServerContext, io: SyncServer): LiveFeed {
  // A driver's permissions, briefly cached: a busy route would otherwise reload them per change.
  const driverProfiles = new Map<string, { at: number; profile: AccessProfile }>();
  const driverPerms: DriverPermissionLookup = async (userId, locationId) => {
    const now = ctx.now();
    let cached = driverProfiles.get(userId);
    if (!cached || now - cached.at > 5000) {
      cached = { at: now, profile: await loadAccessProfile(ctx.db, userId, now) };
      driverProfiles.set(userId, cached);
    }
    const view = viewAt(cached.profile, locationId, now);
    return view && view.assigned.size > 0 ? view.assigned : null;
  };
  return { publish: (touched) => broadcastTouched(ctx, io, touched, driverPerms) };
}

/** Sends committed changes to every socket allowed to see them, redacted per view class. */
async function broadcastTouched(ctx: ServerContext, io: SyncServer, touched: readonly Touched[], driverPerms: DriverPermissionLookup): Promise<void> {
  const byLocation = new Map<string, Touched[]>();
  for (const t of touched) byLocation.set(t.locationId, [...(byLocation.get(t.locationId) ?? []), t]);
  const routeDrivers = new Map<string, string | null>();
  const driverOf = async (routeId: string) => {
    if (!routeDrivers.has(routeId)) routeDrivers.set(routeId, await driverUserOfOpenRoute(ctx.db, routeId, ctx.now()));
    return routeDrivers.get(routeId)!;
  };
  for (const [locationId, all] of byLocation) {
    // No socket in any of the location's rooms: nothing is redacted or sent. A record made by
    // this commit is not even read back; a changed one still is, because decrypting it is what
    // reports a value tampered with at rest at the change that touched it.
    const listening = locationMayHaveListeners(io, locationId);
    if (listening) for (const t of all) if (t.removed) await emitRemoved(io, t, t.removed, driverOf);
    const items = (listening ? all : all.filter((t) => !t.created)).filter((t) => !t.removed);
    if (items.length === 0) continue;
    const changes = await loadEntityChanges(ctx, locationId, items);
    if (!listening) continue;
    for (const t of items) {
      const change = changes.get(`${t.entity}:${t.id}`);
      if (!change) continue;
      await emitChange(io, change, t, driverPerms, driverOf);
    }
  }
}

/** A record deleted for good: every room of its location, and its route's driver, are told to drop it. */
async function emitRemoved(io: SyncServer, t: Touched, removed: NonNullable<Touched['removed']>, driverOf: (routeId: string) => Promise<string | null>): Promise<void> {
  if (t.entity === 'position') return;
  const change: Change = { entity: 'removed', locationId: t.locationId, version: removed.version, data: { kind: t.entity, id: t.id } };
  const rooms = reachableViewClasses.map((c) => generalRoom(t.locationId, c)).filter((r) => roomMayHaveListeners(io, r));
  const driverUser = removed.routeId === null ? null : await driverOf(removed.routeId);
  if (driverUser) rooms.push(driverRoom(t.locationId, driverUser));
  if (rooms.length > 0) io.to(rooms).emit('sync:change', change);
}

async function emitChange(io: SyncServer, change: Change, t: Touched, driverPerms: DriverPermissionLookup, driverOf: (routeId: string) => Promise<string | null>): Promise<void> {
  const loc = change.locationId;
  // Drivers first: a user in both a driver room and a general room keeps the richer copy,
  // because the device applies only strictly newer versions.
  if (change.entity === 'stop' || change.entity === 'route') {
    const routeId = change.entity === 'stop' ? change.data.routeId : change.data.id;
    const driverUser = await driverOf(routeId);
    if (driverUser && roomMayHaveListeners(io, driverRoom(loc, driverUser))) {
      const perms = await driverPerms(driverUser, loc);
      if (perms?.has('location.read')) {
        const data = change.entity === 'stop' ? { ...change, data: redactStopForViewer(change.data, perms) } : change;
        io.to(driverRoom(loc, driverUser)).emit('sync:change', data);
      }
    }
    // A route taken from a driver, or a stop moved off their route: their device forgets it.
    if (t.previousDriverUserId && t.previousDriverUserId !== driverUser) {
      io.to(driverRoom(loc, t.previousDriverUserId)).emit('sync:change', {
        entity: 'removed', locationId: loc, version: change.version, data: { kind: change.entity, id: change.data.id },
      });
    }
  }
  // View classes that end up with the same copy share one emit (a socket is in one general room
  // per location): a route or position goes out once, a stop once per distinct redaction, so the
  // packet is encoded a handful of times however many view classes groups make possible, and
  // only for view classes with a socket in their room.
  const copies = new Map<string, { data: Change; rooms: string[] }>();
  for (const viewClass of reachableViewClasses) {
    // An empty view class is not redacted or encoded for (a console joining later catches up by pull).
    if (!roomMayHaveListeners(io, generalRoom(loc, viewClass))) continue;
    const perms = permsOfClass(viewClass);
    if (change.entity === 'position' && !perms.has('position.read')) continue;
    const data = change.entity === 'stop' ? { ...change, data: redactStopForViewer(change.data, perms) } : change;
    const shape = data.entity === 'stop' ? `${Object.keys(data.data).join(',')}|${data.data.withheld?.join(',') ?? ''}` : '';
    const copy = copies.get(shape);
    if (copy) copy.rooms.push(generalRoom(loc, viewClass));
    else copies.set(shape, { data, rooms: [generalRoom(loc, viewClass)] });
  }
  for (const { data, rooms } of copies.values()) io.to(rooms).emit('sync:change', data);
}
