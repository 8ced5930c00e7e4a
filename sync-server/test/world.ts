/**
 * A small depot world for sync and authorization tests: two locations, one user per role at
 * location A (plus a dispatcher at B), a driver user assigned to one route, routes and stops
 * with customer PII. Sessions are created directly in the database and tokens issued by the
 * real token code, so these tests exercise authorization, not the sign-in flow (which has its
 * own tests in src/auth).
 */
import crypto from 'node:crypto';
import { type RoleName, roleNames, type Stop } from '@depotline/shared';
import { io as connect, type Socket } from 'socket.io-client';
import { createGrant } from '../src/access/grants';
import { issueAccessToken } from '../src/auth/access-tokens';
import type { ServerContext } from '../src/context';
import { recordChange } from '../src/sync/change-log';
import { encryptStopPii } from '../src/sync/stop-pii';
import { startTestServer, type Backend, type TestServer } from './harness';

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

export interface WorldUser {
  id: string;
  username: string;
  role: RoleName;
  locationId: string;
  sessionId: string;
  token: string;
}

export interface SeededStop {
  id: string;
  routeId: string;
  locationId: string;
  customerName: string;
  address: string;
  phone: string;
  notes: string;
}

export interface World {
  server: TestServer;
  ctx: ServerContext;
  A: string;
  B: string;
  /** One user per role at A. */
  users: Record<RoleName, WorldUser>;
  /** A dispatcher at B. */
  dispatcherB: WorldUser;
  /** The driver record of `users.driver`, assigned to `routes.A1`. */
  driverRecordId: string;
  otherDriverRecordId: string;
  vehicleA: string;
  routes: { A1: string; A2: string; B1: string };
  stops: { A1: SeededStop[]; A2: SeededStop[]; B1: SeededStop[] };
  dispose(): Promise<void>;
}

export async function insertUser(ctx: ServerContext, username: string): Promise<string> {
  const id = crypto.randomUUID();
  // Sign-in is not exercised here: the hash is a valid argon2id string for no known password.
  await ctx.db.insertInto('users').values({
    id, username, display_name: username, password_hash: '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$unusedunusedunusedunusedunusedunusedunusedu',
    totp_secret_enc: null, totp_enrolled_at: null, totp_last_step: null, failed_logins: 0, locked_until: null, disabled_at: null, created_at: ctx.now(),
  }).execute();
  return id;
}

/** A session row plus a real access token for it. */
export async function openSession(ctx: ServerContext, userId: string): Promise<{ sessionId: string; token: string }> {
  const sessionId = crypto.randomUUID();
  const deviceId = `dev-${crypto.randomBytes(6).toString('hex')}`;
  const now = ctx.now();
  await ctx.db.insertInto('sessions').values({
    id: sessionId, user_id: userId, device_id: deviceId, device_name: 'test', ip: '127.0.0.1',
    created_at: now, last_seen_at: now, expires_at: now + 3_600_000, revoked_at: null, revoke_reason: null,
  }).execute();
  const { token } = await issueAccessToken(ctx, { userId, sessionId, deviceId, sessionEndsAt: now + 3_600_000 });
  return { sessionId, token };
}

export async function insertLocation(ctx: ServerContext, id: string): Promise<void> {
  await ctx.db.insertInto('locations').values({ id, name: `Depot ${id}`, timezone: 'Europe/Berlin', version: 0, created_at: ctx.now() }).execute();
}

export async function insertRoute(ctx: ServerContext, locationId: string, id: string, driverId: string | null): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const version = await recordChange(trx, locationId, 'route', id, ctx.now());
    await trx.insertInto('routes').values({ id, location_id: locationId, name: `Route ${id}`, date: '2026-11-22', driver_id: driverId, vehicle_id: null, version, updated_at: ctx.now(), updated_by: 'test' }).execute();
  });
}

export async function insertStops(ctx: ServerContext, locationId: string, routeId: string, n: number): Promise<SeededStop[]> {
  const out: SeededStop[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${routeId}-s${i}`;
    const tag = crypto.randomBytes(4).toString('hex');
    const s: SeededStop = {
      id, routeId, locationId,
      customerName: `Customer ${tag}`,
      address: `${i + 1} Lindenstrasse ${tag}, Berlin`,
      phone: `+49 30 ${1000000 + Math.floor(Math.random() * 8999999)}`,
      notes: `Leave with neighbour ${tag}`,
    };
    await ctx.db.transaction().execute(async (trx) => {
      const version = await recordChange(trx, locationId, 'stop', id, ctx.now());
      await trx.insertInto('stops').values({
        id, location_id: locationId, route_id: routeId, sequence: i,
        ...(encryptStopPii(ctx, id, s) as { customer_name_enc: string; address_enc: string; phone_enc: string; notes_enc: string }),
        window_start: 1_800_000_000_000, window_end: 1_800_003_600_000, status: 'planned', eta: null, version, updated_at: ctx.now(), updated_by: 'test',
      }).execute();
    });
    out.push(s);
  }
  return out;
}

export async function buildWorld(backend: Backend, stopsPerRoute = 3): Promise<World> {
  const server = await startTestServer(backend);
  const ctx = server.ctx;
  const A = 'depot-a';
  const B = 'depot-b';
  await insertLocation(ctx, A);
  await insertLocation(ctx, B);

  const users = {} as Record<RoleName, WorldUser>;
  for (const role of roleNames) {
    const username = `${role}-a`;
    const id = await insertUser(ctx, username);
    await createGrant(ctx, operator, { userId: id, role, locationIds: [A], expiresAt: role === 'contractor' ? ctx.now() + 86_400_000 : null });
    users[role] = { id, username, role, locationId: A, ...(await openSession(ctx, id)) };
  }
  const dispB = await insertUser(ctx, 'dispatcher-b');
  await createGrant(ctx, operator, { userId: dispB, role: 'dispatcher', locationIds: [B] });
  const dispatcherB: WorldUser = { id: dispB, username: 'dispatcher-b', role: 'dispatcher', locationId: B, ...(await openSession(ctx, dispB)) };

  const driverRecordId = 'drv-a-1';
  const otherDriverRecordId = 'drv-a-2';
  const vehicleA = 'veh-a-1';
  await ctx.db.insertInto('drivers').values([
    { id: driverRecordId, location_id: A, name: 'Dana Driver', user_id: users.driver.id },
    { id: otherDriverRecordId, location_id: A, name: 'Otto Other', user_id: null },
  ]).execute();
  await ctx.db.insertInto('vehicles').values({ id: vehicleA, location_id: A, label: 'Van 1', plate: 'B-DL 101' }).execute();

  const routes = { A1: 'route-a1', A2: 'route-a2', B1: 'route-b1' };
  await insertRoute(ctx, A, routes.A1, driverRecordId);
  await insertRoute(ctx, A, routes.A2, otherDriverRecordId);
  await insertRoute(ctx, B, routes.B1, null);
  const stops = {
    A1: await insertStops(ctx, A, routes.A1, stopsPerRoute),
    A2: await insertStops(ctx, A, routes.A2, stopsPerRoute),
    B1: await insertStops(ctx, B, routes.B1, stopsPerRoute),
  };
  return { server, ctx, A, B, users, dispatcherB, driverRecordId, otherDriverRecordId, vehicleA, routes, stops, dispose: () => server.dispose() };
}

/* ---------------------------------------------------------------------------------------- */

export type TestSocket = Socket & { received: unknown[] };

/** A real socket.io-client connection, authenticated in the handshake payload. */
export async function connectSocket(url: string, token: string, opts: { origin?: string } = {}): Promise<TestSocket> {
  const socket = connect(url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: opts.origin ? { origin: opts.origin } : {},
  }) as TestSocket;
  socket.received = [];
  socket.on('sync:change', (c: unknown) => socket.received.push(c));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return socket;
}

export function emitAck<T = unknown>(socket: Socket, event: string, payload: unknown, timeoutMs = 5000): Promise<T> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<T>;
}

export function mutationId(): string {
  return crypto.randomUUID();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` passes or the time is up; returns whether it passed. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 2000, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(stepMs);
  }
  return check();
}

export async function rest(world: World, method: string, path: string, token: string | null, body?: unknown) {
  const res = await fetch(`${world.server.url}/api/v1${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null, headers: res.headers };
}

export type { Stop };
