/**
 * Two sync-server processes' worth of servers in one test process: two `startServer` on one
 * PostgreSQL database and one Redis (the ones `npm test` starts), each with its own database
 * pool, Redis connections and Socket.IO server, as two processes behind a load balancer would
 * have. Consoles are real socket.io-client sockets (WebSocket only). The same scenarios through
 * nginx and real processes are in test/scale-out.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import type { Change, RoleName, Stop } from '@depotline/shared';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startServerOn, type TestEnv } from '../../test/harness';
import { connectSocket, emitAck, eventually, insertLocation, insertRoute, insertStops, insertUser, mutationId, openSession, type SeededStop, sleep, type TestSocket } from '../../test/world';
import { createGrant } from '../access/grants';
import { loadConfig, type ServerConfig } from '../config';
import type { ServerContext } from '../context';
import { socketEventLimit } from './socket-server';

type RunningServer = Awaited<ReturnType<typeof startServerOn>>;

const redisUrl = process.env.DEPOTLINE_TEST_REDIS_URL;
const skipped = redisUrl ? '' : ' (SKIPPED: DEPOTLINE_TEST_REDIS_URL is not set; run through `npm test`, which starts a throwaway Redis)';
const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };
type Ack = { ok: boolean; error?: { code: string; retryAfterS?: number } };

/** The test Redis with a key prefix of our own: the test Redis is shared by every test file. */
function redisSettings(url: string): Partial<ServerConfig> {
  const base = loadConfig({}).rateLimits;
  return { rateLimits: { ...base, redis: { url, tlsCaFile: null }, keyPrefix: `test-${crypto.randomBytes(6).toString('hex')}:` } };
}

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as net.AddressInfo;
    s.close(() => resolve(port));
  });
});

const stopsIn = (changes: readonly unknown[]) => (changes as Change[]).filter((c): c is Extract<Change, { entity: 'stop' }> => c.entity === 'stop').map((c) => c.data);

describe.skipIf(!redisUrl)(`sockets across two server processes on PostgreSQL and Redis${skipped}`, () => {
  let env: TestEnv;
  let a: RunningServer;
  let b: RunningServer;
  let ctx: ServerContext;
  const L = 'depot-x';
  const OTHER = 'depot-y';
  const users = {} as Record<'dispatcher' | 'finance' | 'driver' | 'manager' | 'otherDispatcher', { id: string; token: string }>;
  let routeOwn: string;
  let routeOther: string;
  let stops: { own: SeededStop[]; other: SeededStop[] };

  beforeAll(async () => {
    env = await createTestEnv('postgres', redisSettings(redisUrl!));
    a = await startServerOn(env);
    b = await startServerOn(env);
    ctx = a.ctx;
    await insertLocation(ctx, L);
    await insertLocation(ctx, OTHER);
    const roles: [keyof typeof users, RoleName, string][] = [
      ['dispatcher', 'dispatcher', L], ['finance', 'finance', L], ['driver', 'driver', L], ['manager', 'manager', L], ['otherDispatcher', 'dispatcher', OTHER],
    ];
    for (const [key, role, loc] of roles) {
      const id = await insertUser(ctx, `${key}-x`);
      await createGrant(ctx, operator, { userId: id, role, locationIds: [loc] });
      users[key] = { id, token: (await openSession(ctx, id)).token };
    }
    await ctx.db.insertInto('drivers').values([
      { id: 'drv-x-1', location_id: L, name: 'Dana Driver', user_id: users.driver.id },
      { id: 'drv-x-2', location_id: L, name: 'Otto Other', user_id: null },
    ]).execute();
    routeOwn = 'route-x1';
    routeOther = 'route-x2';
    await insertRoute(ctx, L, routeOwn, 'drv-x-1');
    await insertRoute(ctx, L, routeOther, 'drv-x-2');
    stops = { own: await insertStops(ctx, L, routeOwn, 2), other: await insertStops(ctx, L, routeOther, 2) };
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await env?.dispose();
  });

  const push = (server: RunningServer, token: string, mutations: unknown[]) => fetch(`${server.url}/api/v1/sync/push`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ mutations }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as { results: { status: string }[] } }));

  it('a change pushed through process A reaches the consoles on process B, redacted per viewer', async () => {
    // No socket at all on A: the feed there must not skip the change for want of local listeners.
    expect(a.io.of('/').sockets.size).toBe(0);
    const consoles: Record<'dispatcher' | 'finance' | 'driver' | 'otherDispatcher', TestSocket> = {
      dispatcher: await connectSocket(b.url, users.dispatcher.token),
      finance: await connectSocket(b.url, users.finance.token),
      driver: await connectSocket(b.url, users.driver.token),
      otherDispatcher: await connectSocket(b.url, users.otherDispatcher.token),
    };
    try {
      const secret = `ring twice, dog bites ${crypto.randomBytes(4).toString('hex')}`;
      const own = stops.own[0]!;
      const other = stops.other[0]!;
      const res = await push(a, users.manager.token, [
        { id: mutationId(), locationId: L, createdAt: Date.now(), type: 'stop.editNotes', stopId: own.id, notes: secret },
        { id: mutationId(), locationId: L, createdAt: Date.now(), type: 'stop.editNotes', stopId: other.id, notes: `${secret} (other route)` },
      ]);
      expect(res.status).toBe(200);
      expect(res.body.results.map((r) => r.status)).toEqual(['applied', 'applied']);

      const hasBoth = (s: TestSocket) => () => new Set(stopsIn(s.received).map((x) => x.id)).size === 2;
      expect(await eventually(hasBoth(consoles.dispatcher), 5000)).toBe(true);
      expect(await eventually(hasBoth(consoles.finance), 5000)).toBe(true);
      expect(await eventually(() => stopsIn(consoles.driver.received).length > 0, 5000)).toBe(true);

      const byId = (s: TestSocket) => new Map(stopsIn(s.received).map((x) => [x.id, x] as [string, Stop]));
      // The dispatcher sees everything, notes and phone included.
      expect(byId(consoles.dispatcher).get(own.id)).toMatchObject({ notes: secret, phone: own.phone, customerName: own.customerName });
      // Finance: the customer, never the notes or the phone.
      const financeCopy = byId(consoles.finance).get(own.id)!;
      expect(financeCopy.customerName).toBe(own.customerName);
      expect(financeCopy).not.toHaveProperty('notes');
      expect(financeCopy).not.toHaveProperty('phone');
      expect(JSON.stringify(consoles.finance.received)).not.toContain(secret);
      // The driver: their own route's stop, with what they need to deliver; never the other route's.
      await sleep(200);
      expect([...byId(consoles.driver).keys()]).toEqual([own.id]);
      expect(byId(consoles.driver).get(own.id)).toMatchObject({ notes: secret, phone: own.phone });
      expect(JSON.stringify(consoles.driver.received)).not.toContain(other.id);
      // Another location's console receives nothing.
      expect(consoles.otherDispatcher.received).toEqual([]);
    } finally {
      for (const s of Object.values(consoles)) s.close();
    }
  });

  it('a change pushed on a socket of process B reaches consoles on both processes, and in version order per record', async () => {
    const onA = await connectSocket(a.url, users.dispatcher.token);
    const pusher = await connectSocket(b.url, users.manager.token);
    try {
      const stop = stops.own[1]!;
      for (const notes of ['first', 'second', 'third']) {
        const ack = await emitAck<{ ok: boolean; data: { results: { status: string }[] } }>(pusher, 'sync:push', { mutations: [
          { id: mutationId(), locationId: L, createdAt: Date.now(), type: 'stop.editNotes', stopId: stop.id, notes },
        ] });
        expect(ack.data.results[0]!.status).toBe('applied');
      }
      const notesOf = (s: TestSocket) => stopsIn(s.received).filter((x) => x.id === stop.id).map((x) => x.notes);
      expect(await eventually(() => notesOf(onA).length === 3, 5000)).toBe(true);
      expect(await eventually(() => notesOf(pusher).length === 3, 5000)).toBe(true);
      // One process publishes its changes in commit order; the console applies only newer versions anyway.
      expect(notesOf(onA)).toEqual(['first', 'second', 'third']);
      const versions = stopsIn(onA.received).filter((x) => x.id === stop.id).map((x) => x.version);
      expect([...versions].sort((x, y) => x - y)).toEqual(versions);
    } finally {
      onA.close();
      pusher.close();
    }
  });

  it('a session revoked through process A ends its socket on process B within a second', async () => {
    const target = await openSession(ctx, users.dispatcher.id);
    const other = await openSession(ctx, users.dispatcher.id);
    const s = await connectSocket(b.url, target.token);
    const ended: unknown[] = [];
    s.on('session:ended', (p: unknown) => ended.push(p));
    const disconnected = new Promise<number>((resolve) => s.on('disconnect', () => resolve(Date.now())));
    const revokedAt = Date.now();
    const res = await fetch(`${a.url}/api/v1/sessions/${target.sessionId}`, { method: 'DELETE', headers: { authorization: `Bearer ${other.token}` } });
    expect(res.status).toBe(204);
    // The bound: within a second. B's watcher polls the database every 250 ms, so a
    // second holds four polls plus the round trips; a watcher that never ran would miss it.
    const at = await Promise.race([disconnected, sleep(3000).then(() => -1)]);
    expect(at).toBeGreaterThan(0);
    expect(at - revokedAt).toBeLessThan(1000);
    expect(ended).toEqual([{ reason: 'revoked', wipe: true }]);
  });

  it('the socket event limit is one budget per user across both processes', async () => {
    const id = await insertUser(ctx, `busy-${crypto.randomBytes(3).toString('hex')}`);
    await createGrant(ctx, operator, { userId: id, role: 'dispatcher', locationIds: [L] });
    const onA = await connectSocket(a.url, (await openSession(ctx, id)).token);
    const onB = await connectSocket(b.url, (await openSession(ctx, id)).token);
    try {
      // 50 events on each process at once: under the limit for either alone (60/s), over it together.
      const perProcess = 50;
      const acks = await Promise.all([onA, onB].flatMap((s) => Array.from({ length: perProcess }, () => emitAck<Ack>(s, 'sync:locations', {}, 15_000))));
      const ok = acks.filter((x) => x.ok).length;
      const limited = acks.filter((x) => !x.ok && x.error?.code === 'rate_limited');
      expect(ok).toBe(socketEventLimit.points);
      expect(limited.length).toBe(2 * perProcess - socketEventLimit.points);
      expect(limited.every((x) => (x.error?.retryAfterS ?? 0) >= 1)).toBe(true);
    } finally {
      onA.close();
      onB.close();
    }
  });

  it('failed handshakes from one address are audited once per 10 s across both processes', async () => {
    const countFailed = async () => Number((await ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n'))
      .where('action', '=', 'socket.connect').where('outcome', '=', 'failed').executeTakeFirstOrThrow()).n);
    const before = await countFailed();
    for (let i = 0; i < 6; i++) {
      await expect(connectSocket((i % 2 === 0 ? a : b).url, 'not-a-token')).rejects.toThrow();
    }
    expect((await countFailed()) - before).toBe(1);
  });
});

describe('socket fan-out with Redis unreachable', () => {
  it('the server starts, changes reach its own consoles, and the outage is logged once without the URL', async () => {
    const port = await freePort();
    const env = await createTestEnv('sqlite', redisSettings(`redis://:sekrit-password@127.0.0.1:${port}`));
    const errors: { msg: string; fields?: Record<string, unknown> }[] = [];
    const server = await startServerOn(env, { error: (msg, fields) => void errors.push({ msg, fields }) });
    const serverCtx = server.ctx;
    try {
      await insertLocation(serverCtx, 'depot-z');
      const id = await insertUser(serverCtx, 'dispatcher-z');
      await createGrant(serverCtx, operator, { userId: id, role: 'dispatcher', locationIds: ['depot-z'] });
      await insertRoute(serverCtx, 'depot-z', 'route-z', null);
      const [stop] = await insertStops(serverCtx, 'depot-z', 'route-z', 1);
      const viewer = await connectSocket(server.url, (await openSession(serverCtx, id)).token);
      const pusher = await connectSocket(server.url, (await openSession(serverCtx, id)).token);
      try {
        const ack = await emitAck<{ ok: boolean; data: { results: { status: string }[] } }>(pusher, 'sync:push', { mutations: [
          { id: mutationId(), locationId: 'depot-z', createdAt: Date.now(), type: 'stop.editNotes', stopId: stop!.id, notes: 'left at the gate' },
        ] });
        expect(ack.data.results[0]!.status).toBe('applied');
        expect(await eventually(() => stopsIn(viewer.received).some((s) => s.notes === 'left at the gate'), 5000)).toBe(true);
      } finally {
        viewer.close();
        pusher.close();
      }
      const fanOutErrors = errors.filter((e) => e.msg.startsWith('socket fan-out'));
      expect(fanOutErrors.length).toBe(1);
      expect(fanOutErrors[0]!.msg).toMatch(/Redis unreachable/);
      expect(JSON.stringify(errors)).not.toContain('sekrit');
    } finally {
      await server.close();
      await env.dispose();
    }
  });
});

describe.skipIf(!redisUrl)(`socket fan-out across a Redis restart${skipped}`, () => {
  it("a change committed while Redis was down reaches the other process's consoles once it is back: they reconnect and pull", async () => {
    // A Redis of this test's own (the shared test Redis cannot be stopped), without persistence
    // like the one `npm test` starts: the restart loses the stream.
    const port = await freePort();
    const startRedis = async (): Promise<ChildProcess> => {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      const up = await eventually(() => new Promise<boolean>((resolve) => {
        const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); }).on('error', () => resolve(false));
      }), 5000, 50);
      if (!up) throw new Error('redis-server did not start');
      return child;
    };
    let redis = await startRedis();
    const env = await createTestEnv('postgres', redisSettings(`redis://127.0.0.1:${port}`));
    const logged: string[] = [];
    const a = await startServerOn(env, { error: (msg) => void logged.push(msg), info: (msg) => void logged.push(msg) });
    const b = await startServerOn(env);
    const consoleOnB = { connects: 0, disconnects: [] as string[] };
    let socket: ReturnType<typeof connect> | null = null;
    try {
      const ctx = a.ctx;
      await insertLocation(ctx, 'depot-r');
      const id = await insertUser(ctx, 'dispatcher-r');
      await createGrant(ctx, operator, { userId: id, role: 'dispatcher', locationIds: ['depot-r'] });
      await insertRoute(ctx, 'depot-r', 'route-r', null);
      const [stop] = await insertStops(ctx, 'depot-r', 'route-r', 1);
      const token = (await openSession(ctx, id)).token;
      // A console as the desktop app holds it: WebSocket only, reconnecting by itself.
      socket = connect(b.url, { auth: { token }, transports: ['websocket'], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500, forceNew: true });
      const received: Change[] = [];
      socket.on('sync:change', (c: Change) => received.push(c));
      socket.on('connect', () => void consoleOnB.connects++);
      socket.on('disconnect', (reason) => void consoleOnB.disconnects.push(reason));
      expect(await eventually(() => consoleOnB.connects === 1, 5000)).toBe(true);

      redis.kill('SIGKILL');
      await new Promise((r) => redis.once('exit', r));
      expect(await eventually(() => logged.some((m) => /fan-out: Redis unreachable/.test(m)), 10_000)).toBe(true);

      const notes = `left with the neighbour ${crypto.randomBytes(3).toString('hex')}`;
      const res = await fetch(`${a.url}/api/v1/sync/push`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ mutations: [{ id: mutationId(), locationId: 'depot-r', createdAt: Date.now(), type: 'stop.editNotes', stopId: stop!.id, notes }] }),
      });
      expect(((await res.json()) as { results: { status: string }[] }).results[0]!.status).toBe('applied');
      // Not live: A could not append it to the stream.
      await sleep(300);
      expect(JSON.stringify(received)).not.toContain(notes);

      redis = await startRedis();
      // A announces its lost appends; B closes its consoles' connections; the console comes back by itself.
      expect(await eventually(() => consoleOnB.connects === 2, 20_000, 50)).toBe(true);
      expect(consoleOnB.disconnects).toEqual(['transport close']);
      const pulled = await socket.timeout(5000).emitWithAck('sync:pull', { locationId: 'depot-r', after: 0 }) as { ok: boolean; data: { changes: Change[] } };
      expect(stopsIn(pulled.data.changes).find((s) => s.id === stop!.id)?.notes).toBe(notes);
      expect(logged.some((m) => /fan-out: Redis reachable again/.test(m))).toBe(true);
    } finally {
      socket?.close();
      await b.close();
      await a.close();
      redis.kill('SIGKILL');
      await env.dispose();
    }
  });
});
