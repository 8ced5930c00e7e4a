/**
 * Scale-out as an operator runs it (docs/operations.md, "Running several processes"): three
 * real server processes (`src/main.ts`) on one PostgreSQL database and one Redis, behind nginx
 * configured by deploy/nginx/depotline.conf, all started once for this file (cluster.ts).
 * Consoles are real socket.io-client sockets, WebSocket only.
 *
 * Where a test must know which process a socket is on (a change made on one process reaching
 * another), it connects to that process's own port; everything else goes through nginx. The
 * same scenarios with two servers in one test process are in src/socket/cross-process.test.ts.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { type Change, IntegrationCreate, type Stop } from '@depotline/shared';
import { io as connect, type Socket } from 'socket.io-client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrant } from '../src/access/grants';
import { verifyAuditChain } from '../src/audit/verify';
import type { ServerContext } from '../src/context';
import { jobLeaseHolder } from '../src/db/job-leases';
import { applyIntegrationCreate } from '../src/integrations/registry';
import { webhookLease } from '../src/webhooks/worker';
import { createSubscription } from '../src/webhooks/subscriptions';
import { type Cluster, type ClusterNode, startCluster, testRedisUrl } from './cluster';
import { testOperator } from './factories';
import { createTestContext } from './harness';
import { nginxBinary } from './load-balancer';
import { startReceiver, type Receiver } from './webhook-receiver';
import { connectSocket, emitAck, eventually, insertLocation, insertRoute, insertStops, insertUser, mutationId, openSession, type SeededStop, sleep, type TestSocket } from './world';

const skipped = testRedisUrl && nginxBinary ? '' : ' (SKIPPED: needs DEPOTLINE_TEST_REDIS_URL and DEPOTLINE_TEST_NGINX; run through `npm test`)';
const operator = { kind: 'operator' as const, actor: testOperator };
type Ack<T = unknown> = { ok: true; data: T } | { ok: false; error?: { code: string; retryAfterS?: number } };
type PushAck = Ack<{ results: { id: string; status: string; code?: string }[] }>;
type PullAck = Ack<{ changes: Change[]; cursor: number; hasMore: boolean }>;

const stopsIn = (changes: readonly unknown[]) => (changes as Change[]).filter((c): c is Extract<Change, { entity: 'stop' }> => c.entity === 'stop').map((c) => c.data);

/** One REST request from a chosen loopback source address, optionally with extra headers. */
function request(baseUrl: string, method: string, apiPath: string, opts: { from?: string; token?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const url = new URL(`/api/v1${apiPath}`, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method, localAddress: opts.from ?? '127.0.0.1',
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!testRedisUrl || !nginxBinary)(`three server processes behind nginx on one PostgreSQL and one Redis${skipped}`, () => {
  let cluster: Cluster;
  let ctx: ServerContext;
  let receiver: Receiver;
  const L = 'depot-s';
  const OTHER = 'depot-t';
  const users = {} as Record<'dispatcher' | 'finance' | 'driver' | 'manager' | 'otherDispatcher', { id: string; token: string }>;
  let stops: { own: SeededStop[]; other: SeededStop[] };
  const node = (name: string): ClusterNode => cluster.nodes.find((n) => n.name === name)!;

  beforeAll(async () => {
    receiver = await startReceiver({ status: 204 });
    cluster = await startCluster({
      nodes: 3,
      extraEnv: {
        // Small REST budgets, so the shared-limit test reaches them in a few requests; the other
        // tests here use sockets (not counted by these) and a handful of REST requests.
        RATE_LIMIT_PER_ADDRESS_PER_MIN: '30', RATE_LIMIT_PER_USER_TOKEN_PER_MIN: '8',
        // Webhooks to the loopback receiver, polled often; a job lease of 2 s, so the webhook
        // lease moves quickly after its holder is killed.
        DEPOTLINE_WEBHOOK_ALLOW_LOOPBACK: '1', DEPOTLINE_WEBHOOK_POLL_MS: '50', DEPOTLINE_JOB_LEASE_S: '2', DEPOTLINE_WEBHOOK_TIMEOUT_S: '3',
        DEPOTLINE_CHECKPOINT_INTERVAL_S: '0',
      },
    });
    ctx = await createTestContext(cluster.env);
    await insertLocation(ctx, L);
    await insertLocation(ctx, OTHER);
    const roles = [['dispatcher', 'dispatcher', L], ['finance', 'finance', L], ['driver', 'driver', L], ['manager', 'manager', L], ['otherDispatcher', 'dispatcher', OTHER]] as const;
    for (const [key, role, loc] of roles) {
      const id = await insertUser(ctx, `${key}-s`);
      await createGrant(ctx, operator, { userId: id, role, locationIds: [loc] });
      users[key] = { id, token: (await openSession(ctx, id)).token };
    }
    await ctx.db.insertInto('drivers').values([
      { id: 'drv-s-1', location_id: L, name: 'Dana Driver', user_id: users.driver.id },
      { id: 'drv-s-2', location_id: L, name: 'Otto Other', user_id: null },
    ]).execute();
    await insertRoute(ctx, L, 'route-s1', 'drv-s-1');
    await insertRoute(ctx, L, 'route-s2', 'drv-s-2');
    stops = { own: await insertStops(ctx, L, 'route-s1', 2), other: await insertStops(ctx, L, 'route-s2', 2) };
  }, 180_000);

  afterAll(async () => {
    await ctx?.db.destroy();
    await cluster?.stop();
    await receiver?.close();
  });

  it('a change pushed on any process reaches consoles on every process and through nginx, redacted per viewer', async () => {
    expect((await fetch(`${cluster.url}/healthz`)).status).toBe(200);
    // One console of each kind on every process, and one of each through nginx.
    const kinds = ['dispatcher', 'finance', 'driver', 'otherDispatcher'] as const;
    const consoles = await Promise.all([...cluster.nodes, { name: 'nginx', url: cluster.url }]
      .flatMap((n) => kinds.map(async (kind) => ({ node: n.name, kind, socket: await connectSocket(n.url, users[kind].token) }))));
    try {
      const own = stops.own[0]!;
      const other = stops.other[0]!;
      // One push on each process, from a manager's socket there.
      const secrets: string[] = [];
      for (const n of cluster.nodes) {
        const pusher = await connectSocket(n.url, users.manager.token);
        const secret = `gate code ${crypto.randomBytes(4).toString('hex')} via ${n.name}`;
        secrets.push(secret);
        const ack = await emitAck<PushAck>(pusher, 'sync:push', { mutations: [
          { id: mutationId(), locationId: L, createdAt: Date.now(), type: 'stop.editNotes', stopId: own.id, notes: secret },
          { id: mutationId(), locationId: L, createdAt: Date.now(), type: 'stop.editNotes', stopId: other.id, notes: `${secret} (other route)` },
        ] });
        pusher.close();
        expect(ack.ok && ack.data.results.map((r) => r.status)).toEqual(['applied', 'applied']);
      }
      const notesSeen = (s: TestSocket, stopId: string) => stopsIn(s.received).filter((x) => x.id === stopId).map((x) => x.notes);
      for (const c of consoles.filter((x) => x.kind === 'dispatcher' || x.kind === 'driver')) {
        // Every process's change reached this console, whichever process it is on.
        expect(await eventually(() => notesSeen(c.socket, own.id).length === 3, 10_000), `${c.kind} on ${c.node}`).toBe(true);
        expect(new Set(notesSeen(c.socket, own.id))).toEqual(new Set(secrets));
      }
      for (const c of consoles.filter((x) => x.kind === 'finance')) {
        expect(await eventually(() => stopsIn(c.socket.received).length === 6, 10_000), `finance on ${c.node}`).toBe(true);
        const copy: Stop = stopsIn(c.socket.received).find((x) => x.id === own.id)!;
        expect(copy.customerName).toBe(own.customerName);
        expect(copy).not.toHaveProperty('notes');
        expect(copy).not.toHaveProperty('phone');
        for (const secret of secrets) expect(JSON.stringify(c.socket.received)).not.toContain(secret);
      }
      await sleep(300); // anything wrongly sent would have arrived with the rest
      for (const c of consoles.filter((x) => x.kind === 'driver')) {
        // Their own route's stop, with what they need to deliver; never the other route's.
        expect(new Set(stopsIn(c.socket.received).map((x) => x.id))).toEqual(new Set([own.id]));
        expect(stopsIn(c.socket.received)[0]).toMatchObject({ phone: own.phone });
      }
      for (const c of consoles.filter((x) => x.kind === 'otherDispatcher')) expect(c.socket.received).toEqual([]);
    } finally {
      for (const c of consoles) c.socket.close();
    }
  }, 60_000);

  it('a session revoked through process a ends its sockets on processes b and c within a second', async () => {
    const target = await openSession(ctx, users.dispatcher.id);
    const other = await openSession(ctx, users.dispatcher.id);
    const sockets = [await connectSocket(node('b').url, target.token), await connectSocket(node('c').url, target.token)];
    const ended = sockets.map((s) => new Promise<{ at: number; payload: unknown }>((resolve) => s.on('session:ended', (payload: unknown) => resolve({ at: Date.now(), payload }))));
    const disconnected = sockets.map((s) => new Promise<void>((resolve) => s.on('disconnect', () => resolve())));
    const revokedAt = Date.now();
    expect((await request(node('a').url, 'DELETE', `/sessions/${target.sessionId}`, { token: other.token })).status).toBe(204);
    // The bound: within a second. Each process's watcher reads the sessions table every
    // 250 ms, so a second holds four reads plus the round trips; a process whose watcher never
    // saw the revocation (or saw only its own) would miss it entirely.
    const timeout = sleep(5000).then(() => null);
    for (const e of ended) {
      const got = await Promise.race([e, timeout]);
      expect(got).not.toBeNull();
      expect(got!.payload).toEqual({ reason: 'revoked', wipe: true });
      expect(got!.at - revokedAt).toBeLessThan(1000);
    }
    await Promise.all(disconnected);
  }, 30_000);

  it('REST budgets are shared by every process behind nginx and counted per real client address', async () => {
    const remaining = (headers: http.IncomingHttpHeaders, policy: string) => {
      const item = String(headers.ratelimit).split(', ').find((i) => i.startsWith(`"${policy}"`));
      return item ? Number(/;r=(\d+)/.exec(item)![1]) : null;
    };
    // Per credential: 8 a minute for one (forged) token, whichever process nginx picks.
    const token = `eyJhbGciOiJIUzI1NiJ9.${crypto.randomBytes(24).toString('base64url')}.${crypto.randomBytes(32).toString('base64url')}`;
    const byToken = [];
    for (let i = 0; i < 9; i++) byToken.push(await request(cluster.url, 'GET', '/me', { token, from: '127.0.0.21' }));
    expect(byToken.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429]);
    expect(byToken.map((r) => remaining(r.headers, 'per-credential'))).toEqual([7, 6, 5, 4, 3, 2, 1, 0, 0]);

    // Per address: nginx passes the client's own address (TRUST_PROXY_HOPS=1), replacing any
    // X-Forwarded-For the client sent, so a client cannot pick a fresh address per request.
    const spoofed = (i: number) => ({ 'x-forwarded-for': `10.9.${i}.${i}` });
    const byAddress = [];
    for (let i = 0; i < 31; i++) byAddress.push(await request(cluster.url, 'GET', '/me', { from: '127.0.0.22', headers: spoofed(i) }));
    expect(byAddress.slice(0, 30).every((r) => r.status === 401)).toBe(true);
    expect(byAddress.map((r) => remaining(r.headers, 'per-address')).slice(0, 30)).toEqual(Array.from({ length: 30 }, (_, i) => 29 - i));
    expect(byAddress[30]!.status).toBe(429);
    // Each process refuses it now, asked directly too; another client address is unaffected.
    for (const n of cluster.nodes) expect((await request(n.url, 'GET', '/me', { headers: { 'x-forwarded-for': '127.0.0.22' } })).status).toBe(429);
    expect((await request(cluster.url, 'GET', '/me', { from: '127.0.0.23' })).status).toBe(401);
  }, 60_000);

  it('the socket event limit is one budget per user across the processes', async () => {
    const id = await insertUser(ctx, `busy-${crypto.randomBytes(3).toString('hex')}`);
    await createGrant(ctx, operator, { userId: id, role: 'dispatcher', locationIds: [L] });
    const sockets = await Promise.all(cluster.nodes.map(async (n) => connectSocket(n.url, (await openSession(ctx, id)).token)));
    try {
      // 30 events on each of three processes at once (90): under the limit for any one alone
      // (60 a second), over it together. The limiter counts an event when it arrives, before its
      // work, so all 90 land within a few milliseconds of each other, inside one window.
      const perProcess = 30;
      const acks = await Promise.all(sockets.flatMap((s) => Array.from({ length: perProcess }, () => emitAck<Ack>(s, 'sync:locations', {}, 15_000))));
      const ok = acks.filter((x) => x.ok).length;
      const limited = acks.filter((x) => !x.ok && x.error?.code === 'rate_limited');
      expect(ok).toBe(60);
      expect(limited).toHaveLength(3 * perProcess - 60);
    } finally {
      for (const s of sockets) s.close();
    }
  }, 30_000);

  it('failover: a process killed under load loses no acknowledged mutation, applies none twice, loses no webhook, and its consoles converge through nginx', async () => {
    const F = 'depot-f';
    const consoleCount = 6;
    const stopsEach = 3;
    await insertLocation(ctx, F);
    await insertRoute(ctx, F, 'route-f1', null);
    const fStops = await insertStops(ctx, F, 'route-f1', consoleCount * stopsEach);
    const tokens: string[] = [];
    for (let i = 0; i < consoleCount; i++) {
      const id = await insertUser(ctx, `dispatcher-f${i}`);
      await createGrant(ctx, operator, { userId: id, role: 'dispatcher', locationIds: [F] });
      tokens.push((await openSession(ctx, id)).token);
    }
    // A courier integration hearing of every status change at F. Its receiver answers slowly at
    // first, so deliveries are in flight when the process sending them dies.
    const integration = await ctx.db.transaction().execute((trx) => applyIntegrationCreate(trx, operator,
      IntegrationCreate.parse({ name: 'courier-failover', kind: 'courier', contact: 'ops@partner.example', orderVisibility: 'location', scopes: [{ locationId: F, permissions: ['status.read'] }] }), Date.now()));
    receiver.answer({ status: 204, delayMs: 300 });
    const { subscription, secret } = await ctx.db.transaction().execute((trx) =>
      createSubscription(ctx, trx, testOperator, integration, { url: `${receiver.origin}/hooks`, events: ['stop.status_changed'] }, Date.now()));

    // Consoles as the desktop runs them: through the load balancer, reconnecting on their own;
    // live changes applied when newer than what the console has, a pull after every (re)connect.
    interface Console { socket: Socket; rows: Map<string, Stop>; cursor: number; disconnects: number; catchingUp: Promise<void> }
    const apply = (c: Console, stop: Stop) => {
      const have = c.rows.get(stop.id);
      if (!have || have.version < stop.version) c.rows.set(stop.id, stop);
    };
    const pullAll = async (socket: Socket, after: number, onStop: (s: Stop) => void): Promise<number> => {
      let cursor = after;
      for (;;) {
        const page = await emitAck<PullAck>(socket, 'sync:pull', { locationId: F, after: cursor }, 10_000);
        if (!page.ok) throw new Error(`pull refused: ${JSON.stringify(page)}`);
        for (const s of stopsIn(page.data.changes)) onStop(s);
        cursor = page.data.cursor;
        if (!page.data.hasMore) return cursor;
      }
    };
    const consoles: Console[] = tokens.map((token) => {
      const socket = connect(cluster.url, {
        auth: { token }, transports: ['websocket'], forceNew: true,
        reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500, randomizationFactor: 0.2,
      });
      const c: Console = { socket, rows: new Map(), cursor: 0, disconnects: 0, catchingUp: Promise.resolve() };
      socket.on('sync:change', (change: Change) => { if (change.entity === 'stop') apply(c, change.data); });
      socket.on('disconnect', () => { c.disconnects++; });
      socket.on('connect', () => {
        c.catchingUp = c.catchingUp.then(async () => {
          try {
            c.cursor = await pullAll(socket, c.cursor, (s) => apply(c, s));
          } catch {
            // The socket went away mid-pull: the next connect pulls again from the same cursor.
          }
        });
      });
      return c;
    });
    expect(await eventually(() => consoles.every((c) => c.socket.connected), 20_000)).toBe(true);

    // Every mutation sent, and every answer it got.
    const sent = new Map<string, { stopId: string; type: string }>();
    const answers = new Map<string, string[]>();
    let roundsDone = 0;
    let killedAt: number | null = null;
    const statusSteps = ['en_route', 'arrived'] as const;

    /** Sends one push until some process answers it, resending the same mutation ids. */
    const pushUntilAnswered = async (c: Console, mutations: Record<string, unknown>[]) => {
      for (let attempt = 0; attempt < 100; attempt++) {
        if (!c.socket.connected) await new Promise<void>((resolve) => c.socket.once('connect', () => resolve()));
        try {
          const ack = await emitAck<PushAck>(c.socket, 'sync:push', { mutations }, 4000);
          if (ack.ok) {
            for (const r of ack.data.results) answers.set(r.id, [...(answers.get(r.id) ?? []), r.status]);
            return;
          }
        } catch {
          // No answer (the process died with the push in flight, or the socket dropped): resend.
        }
        await sleep(50);
      }
      throw new Error('a push was never answered');
    };

    const batches: { console: Console; mutations: Record<string, unknown>[] }[] = [];
    const runConsole = async (c: Console, index: number) => {
      const own = fStops.slice(index * stopsEach, (index + 1) * stopsEach);
      let roundAtKill: number | null = null;
      for (let round = 0; ; round++) {
        if (killedAt !== null && roundAtKill === null) roundAtKill = round;
        // Keep going until several rounds after the kill, so pushes meet the surviving processes.
        if (round >= 6 && roundAtKill !== null && round >= roundAtKill + 4) break;
        if (round > 200) throw new Error('the kill never happened');
        const mutations: Record<string, unknown>[] = [];
        for (const s of own) {
          const step = statusSteps[round];
          if (step) mutations.push({ id: mutationId(), locationId: F, createdAt: Date.now(), type: 'stop.setStatus', stopId: s.id, to: step });
          mutations.push({ id: mutationId(), locationId: F, createdAt: Date.now(), type: 'stop.editNotes', stopId: s.id, notes: `console ${index} round ${round}` });
        }
        for (const m of mutations) sent.set(m.id as string, { stopId: m.stopId as string, type: m.type as string });
        await pushUntilAnswered(c, mutations);
        batches.push({ console: c, mutations });
        roundsDone++;
      }
    };

    // Kill the process that holds the webhook lease (it also holds consoles: least_conn spreads
    // six consoles over three processes), once a third of the expected rounds are done.
    const killer = (async () => {
      expect(await eventually(() => roundsDone >= consoleCount * 2, 60_000, 5)).toBe(true);
      const holder = await jobLeaseHolder(ctx.db, webhookLease, Date.now());
      const victim = cluster.nodes.find((n) => holder?.holder.includes(`:${n.pid}:`)) ?? cluster.nodes[0]!;
      await victim.kill('SIGKILL');
      killedAt = Date.now();
      receiver.answer({ status: 204 });
      return victim;
    })();
    await Promise.all(consoles.map(runConsole));
    const victim = await killer;

    try {
      // Some consoles were on the killed process and came back through nginx.
      expect(consoles.some((c) => c.disconnects > 0)).toBe(true);
      expect(await eventually(() => consoles.every((c) => c.socket.connected), 20_000)).toBe(true);

      // Every mutation was answered applied (first answer) or duplicate (a resend of one whose
      // answer was lost), never rejected, and none was answered applied twice.
      expect(answers.size).toBe(sent.size);
      for (const [id, statuses] of answers) {
        expect(statuses.every((s) => s === 'applied' || s === 'duplicate'), `${id}: ${statuses.join(',')}`).toBe(true);
        expect(statuses.filter((s) => s === 'applied').length).toBeLessThanOrEqual(1);
      }
      // In the database each is applied exactly once: one claim, one change-log entry at its
      // version, one audit entry.
      const ids = [...sent.keys()];
      const claims = await ctx.db.selectFrom('applied_mutations').select(['id', 'version']).where('id', 'in', ids).execute();
      expect(claims).toHaveLength(ids.length);
      expect(claims.every((c) => Number(c.version) > 0)).toBe(true);
      const versions = claims.map((c) => Number(c.version));
      expect(new Set(versions).size).toBe(versions.length);
      const changes = await ctx.db.selectFrom('changes').select(['version', 'entity_id']).where('location_id', '=', F).where('version', 'in', versions).execute();
      expect(changes).toHaveLength(versions.length);
      const versionOf = new Map(claims.map((c) => [c.id, Number(c.version)]));
      const changeAt = new Map(changes.map((c) => [Number(c.version), c.entity_id]));
      for (const [id, m] of sent) expect(changeAt.get(versionOf.get(id)!)).toBe(m.stopId);
      const audits = await ctx.db.selectFrom('audit_log').select(['action', 'details']).where('location_id', '=', F)
        .where('action', 'in', ['stop.setStatus', 'stop.editNotes']).where('outcome', '=', 'ok').execute();
      const audited = audits.map((a) => (JSON.parse(a.details) as { mutationId: string }).mutationId).sort();
      expect(audited).toEqual([...ids].sort());
      expect((await verifyAuditChain(ctx.db)).ok).toBe(true);

      // A console that resends pushes already applied (as after a lost answer), to whichever
      // process nginx now gives it, is answered duplicate with the version each was applied at.
      for (const b of batches.slice(0, 6)) {
        const ack = await emitAck<PushAck>(b.console.socket, 'sync:push', { mutations: b.mutations }, 10_000);
        expect(ack.ok && ack.data.results.map((r) => [r.status, (r as { version?: number }).version])).toEqual(b.mutations.map((m) => ['duplicate', versionOf.get(m.id as string)]));
      }
      // ...and nothing more is written: no second audit entry, no change-log entry.
      const auditedAfter = await ctx.db.selectFrom('audit_log').select('seq').where('location_id', '=', F)
        .where('action', 'in', ['stop.setStatus', 'stop.editNotes']).where('outcome', '=', 'ok').execute();
      expect(auditedAfter).toHaveLength(ids.length);
      const { n: changeCount } = await ctx.db.selectFrom('changes').select((eb) => eb.fn.countAll<number>().as('n')).where('location_id', '=', F).executeTakeFirstOrThrow();
      expect(Number(changeCount)).toBe(Math.max(...versions));

      // Convergence: every console holds what a fresh pull returns, row for row.
      const fresh = new Map<string, Stop>();
      await pullAll(consoles[0]!.socket, 0, (s) => fresh.set(s.id, s));
      expect(fresh.size).toBe(fStops.length);
      const same = (c: Console) => c.rows.size === fresh.size && [...fresh].every(([id, s]) => JSON.stringify(c.rows.get(id)) === JSON.stringify(s));
      expect(await eventually(() => consoles.every(same), 10_000, 50)).toBe(true);

      // No webhook lost: the lease moved to a live process, and the receiver saw every queued id.
      expect(await eventually(async () => {
        const holder = await jobLeaseHolder(ctx.db, webhookLease, Date.now());
        return holder !== null && !holder.holder.includes(`:${victim.pid}:`);
      }, 20_000, 100)).toBe(true);
      const queued = await ctx.db.selectFrom('webhook_deliveries').select('id').where('subscription_id', '=', subscription.id).execute();
      expect(queued).toHaveLength(fStops.length * statusSteps.length);
      const seen = () => new Set(receiver.received.map((r) => r.id));
      expect(await eventually(() => queued.every((d) => seen().has(d.id)), 30_000, 100)).toBe(true);
      const hook = new Webhook(secret);
      for (const r of receiver.received.filter((x) => queued.some((d) => d.id === x.id))) expect(() => hook.verify(r.body, r.headers)).not.toThrow();
    } finally {
      for (const c of consoles) c.socket.close();
    }
  }, 180_000);
});
