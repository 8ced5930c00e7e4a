/**
 * The push path's folded statements (mutation ids claimed and settled once per push, the version
 * bump, change-log row and stop write in one statement on PostgreSQL, the route-completion check
 * only when a stop opens or closes) keep what the unfolded path promised: per-location versions
 * gap-free in commit order under concurrent pushes, each mutation applied once, refusals undone,
 * one unbroken audit chain. SQLite and PostgreSQL.
 */
import type { Mutation, MutationResult } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../access/caller';
import { verifyAuditChain } from '../audit/verify';
import { loadConfig, ConfigError } from '../config';
import { openDatabase, rawDatabaseOf } from '../db/database';
import { backends } from '../../test/harness';
import { buildWorld, mutationId, type World, type WorldUser } from '../../test/world';
import type { LiveFeed, Touched } from './mutations/handler';
import { pushMutations } from './push';

describe('DATABASE_POOL_SIZE', () => {
  it('sizes the PostgreSQL pool, defaults to 20, and is refused out of range or without DATABASE_URL', async () => {
    const url = 'postgres://depotline@127.0.0.1:1/depotline';
    expect(loadConfig({ DATABASE_URL: url }).database).toMatchObject({ kind: 'postgres', poolSize: 20 });
    expect(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '64' }).database).toMatchObject({ poolSize: 64 });
    for (const bad of ['0', '-3', '2.5', 'many', '501']) {
      expect(() => loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: bad }), bad).toThrow(ConfigError);
    }
    expect(() => loadConfig({ DATABASE_POOL_SIZE: '20' })).toThrow(/DATABASE_POOL_SIZE needs DATABASE_URL/);
    // The size reaches the pool (nothing connects until a query runs).
    const opened = openDatabase({ kind: 'postgres', url, poolSize: 64 });
    const raw = rawDatabaseOf(opened.db);
    expect(raw?.kind === 'postgres' && raw.pool.options.max).toBe(64);
    await opened.close();
  });
});

describe.each(backends)('push intake (%s)', (backend) => {
  let w: World;
  /** What the pushes published, in order; the live feed itself is tested with real sockets elsewhere. */
  const published: Touched[] = [];
  const live: LiveFeed = {
    publish: (touched) => {
      published.push(...touched);
      return Promise.resolve();
    },
  };

  beforeAll(async () => {
    w = await buildWorld(backend, 40);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  async function push(user: WorldUser, mutations: Mutation[]): Promise<MutationResult[]> {
    const caller = await loadCaller(w.ctx, {
      userId: user.id, username: user.username, displayName: user.username, sessionId: user.sessionId, deviceId: 'dev-intake', accessExpiresAt: w.ctx.now() + 60_000,
    }, '127.0.0.1');
    return (await pushMutations(w.ctx, live, caller, mutations)).results;
  }

  const setStatus = (stopId: string, to: string, id = mutationId(), locationId = w.A): Mutation => ({
    id, type: 'stop.setStatus', locationId, createdAt: w.ctx.now(), stopId, to, ...(to === 'failed' ? { failureReason: 'customer_absent' } : {}),
  } as Mutation);

  it('concurrent pushes at one location take gap-free versions; each stop keeps its last change\'s version; the audit chain holds', async () => {
    const location0 = Number((await w.ctx.db.selectFrom('locations').select('version').where('id', '=', w.A).executeTakeFirstOrThrow()).version);
    const stops = [...w.stops.A1, ...w.stops.A2].map((s) => s.id);
    const cycle = ['en_route', 'planned'];
    // 7 pushers, 10 stops each, 4 pushes of 10 mutations each: every push at the same location.
    const pushers = Array.from({ length: 7 }, (_, p) => stops.slice(p * 10, p * 10 + 10));
    const shared = mutationId();
    const sharedStop = stops[75]!;
    const results = await Promise.all(pushers.map(async (own, p) => {
      const out: MutationResult[][] = [];
      for (let round = 0; round < 4; round++) {
        const batch = own.map((stopId) => setStatus(stopId, cycle[round % 2]!));
        // Two pushers send the same id (one device's outbox replayed on two connections) in their first round.
        if (round === 0 && p < 2) batch.push(setStatus(sharedStop, 'en_route', shared));
        out.push(await push(w.users.dispatcher, batch));
      }
      return out;
    }));

    const all = results.flat(2);
    const applied = all.filter((r): r is Extract<MutationResult, { status: 'applied' }> => r.status === 'applied');
    // 280 status changes applied, and the shared id once: the other push waited for its claim and answers duplicate.
    expect(applied.filter((r) => r.id !== shared)).toHaveLength(280);
    const sharedAnswers = all.filter((r) => r.id === shared).map((r) => r.status).sort();
    expect(sharedAnswers).toEqual(['applied', 'duplicate']);

    // Within one push, versions rise in the push's order.
    for (const pushResults of results.flat()) {
      const versions = pushResults.flatMap((r) => (r.status === 'applied' ? [r.version] : []));
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
    // The location's versions are taken without a gap or a repeat, one per change.
    const location = Number((await w.ctx.db.selectFrom('locations').select('version').where('id', '=', w.A).executeTakeFirstOrThrow()).version);
    const changes = await w.ctx.db.selectFrom('changes').select(['version', 'entity', 'entity_id']).where('location_id', '=', w.A)
      .where('version', '>', location0).orderBy('version').execute();
    expect(changes.map((c) => Number(c.version))).toEqual(Array.from({ length: location - location0 }, (_, i) => location0 + i + 1));
    expect(changes).toHaveLength(applied.length);
    // Every applied answer names its own change, and the stop holds the version of its last one.
    const byVersion = new Map(changes.map((c) => [Number(c.version), c]));
    const lastChange = new Map<string, number>();
    for (const c of changes) lastChange.set(c.entity_id, Number(c.version));
    expect(lastChange.size).toBe(71);
    const stored = await w.ctx.db.selectFrom('stops').select(['id', 'version']).where('id', 'in', [...lastChange.keys()]).execute();
    for (const s of stored) expect(Number(s.version), s.id).toBe(lastChange.get(s.id));
    for (const r of applied) expect(byVersion.get(r.version)?.entity).toBe('stop');
    // Each committed change went to the live feed.
    expect(new Set(published.map((t) => t.id))).toEqual(new Set(lastChange.keys()));
    // Each applied id is stored once, with the version it was answered with.
    const claims = await w.ctx.db.selectFrom('applied_mutations').select(['id', 'version']).where('id', 'in', applied.map((r) => r.id)).execute();
    expect(new Map(claims.map((c) => [c.id, Number(c.version)]))).toEqual(new Map(applied.map((r) => [r.id, r.version])));
    // One audit entry per applied mutation, one chain.
    const audited = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'stop.setStatus').where('location_id', '=', w.A).execute();
    const auditedIds = audited.map((a) => (JSON.parse(a.details) as { mutationId?: string }).mutationId);
    for (const r of applied) expect(auditedIds.filter((id) => id === r.id)).toHaveLength(1);
    expect(await verifyAuditChain(w.ctx.db)).toMatchObject({ ok: true });
  });

  it('an id sent twice in one push is applied once; a refused id is released, also within the push; a replay is a duplicate; another user\'s id is refused', async () => {
    const [s0, s1, s2] = w.stops.B1.map((s) => s.id) as [string, string, string];
    const once = mutationId();
    const refusedThenFixed = mutationId();
    const refusedAlone = mutationId();
    const first = await push(w.dispatcherB, [
      setStatus(s0, 'en_route', once, w.B),
      setStatus(s0, 'arrived', once, w.B),
      // planned -> delivered is refused; the same id, corrected, later in the push applies.
      setStatus(s1, 'delivered', refusedThenFixed, w.B),
      setStatus(s1, 'en_route', refusedThenFixed, w.B),
      setStatus(s2, 'delivered', refusedAlone, w.B),
    ]);
    expect(first.map((r) => r.status)).toEqual(['applied', 'duplicate', 'rejected', 'applied', 'rejected']);
    const onceVersion = (first[0] as { version: number }).version;
    expect(first[1]).toMatchObject({ version: onceVersion });
    const stopsNow = await w.ctx.db.selectFrom('stops').select(['id', 'status']).where('id', 'in', [s0, s1, s2]).orderBy('id').execute();
    expect(Object.fromEntries(stopsNow.map((s) => [s.id, s.status]))).toEqual({ [s0]: 'en_route', [s1]: 'en_route', [s2]: 'planned' });
    // The refused id left no claim behind; the applied ones hold their versions.
    const claims = await w.ctx.db.selectFrom('applied_mutations').select(['id', 'version']).where('id', 'in', [once, refusedThenFixed, refusedAlone]).execute();
    expect(new Map(claims.map((c) => [c.id, Number(c.version)]))).toEqual(new Map([[once, onceVersion], [refusedThenFixed, (first[3] as { version: number }).version]]));

    const later = await push(w.dispatcherB, [setStatus(s0, 'arrived', once, w.B), setStatus(s2, 'en_route', refusedAlone, w.B)]);
    expect(later).toEqual([{ id: once, status: 'duplicate', version: onceVersion }, expect.objectContaining({ id: refusedAlone, status: 'applied' })]);
    // Another user's id: refused without saying what it was.
    const other = await push(w.users.dispatcher, [setStatus(w.stops.A1[0]!.id, 'en_route', once)]);
    expect(other[0]).toMatchObject({ status: 'rejected', code: 'conflict', current: null });
  });

  it('a route completes when its last open stop closes and reopens when one opens again; open-to-open changes leave it', async () => {
    const stops = w.stops.B1.map((s) => s.id);
    const route = async () => w.ctx.db.selectFrom('routes').select(['completed_at', 'driver_access_until']).where('id', '=', w.routes.B1).executeTakeFirstOrThrow();
    // Bring every stop to en_route (from wherever the test above left it): open to open.
    const current = await w.ctx.db.selectFrom('stops').select(['id', 'status']).where('id', 'in', stops).execute();
    expect(current.every((s) => s.status === 'planned' || s.status === 'en_route')).toBe(true);
    await push(w.dispatcherB, current.filter((s) => s.status === 'planned').map((s) => setStatus(s.id, 'en_route', mutationId(), w.B)));
    expect((await route()).completed_at).toBeNull();
    const [last, ...others] = stops;
    await push(w.dispatcherB, others.map((id) => setStatus(id, 'failed', mutationId(), w.B)));
    expect((await route()).completed_at).toBeNull();
    await push(w.dispatcherB, [setStatus(last!, 'failed', mutationId(), w.B)]);
    const completed = await route();
    expect(completed.completed_at).not.toBeNull();
    expect(Number(completed.driver_access_until)).toBeGreaterThan(Number(completed.completed_at));
    await push(w.dispatcherB, [setStatus(others[0]!, 'planned', mutationId(), w.B)]);
    expect(await route()).toEqual({ completed_at: null, driver_access_until: null });
  });
});
