import { isDeepStrictEqual } from 'node:util';
import { canTransitionStop, StopStatus, type Mutation } from '@depotline/shared';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalEditRefusedError } from '../../errors';
import { SyncClient } from '../sync-client';
import { requireTestKeyring } from '../../testing/keyring';
import { makeTempDir } from '../../testing/temp-dir';
import { RestartableServer } from './restartable-server';
import { buildLocation, buildUser, editNotesOf, Office, quietLog, setStatusOf, startCore, waitFor, type Core } from './sync-fixture';

/** mulberry32: a small seeded PRNG, so a failing sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('offline edits, disconnects and server restarts converge', () => {
  beforeAll(requireTestKeyring);
  let server: RestartableServer;
  let tmp: ReturnType<typeof makeTempDir>;
  let cores: Core[] = [];

  beforeEach(async () => {
    tmp = makeTempDir();
    server = await RestartableServer.start();
  });
  afterEach(async () => {
    for (const c of cores) await c.dispose();
    cores = [];
    await server.dispose();
    tmp.remove();
  });

  async function setUp(stopCount: number) {
    const A = (await buildLocation(server.ctx)).id;
    const office = await Office.at(server, [A]);
    const routeId = await office.createRoute(A);
    const stops = await office.createStops(A, routeId, stopCount);
    for (let i = 0; i < 2; i++) {
      const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
      cores.push(await startCore(server.url, tmp.dir, user));
    }
    return { A, office, stopIds: stops.map((s) => s.id) };
  }

  /** Every core holds exactly what the server holds, and every edit is applied once or shown as refused. */
  async function expectConverged(A: string, office: Office, enqueued: Map<Core, string[]>) {
    for (const c of cores) if (c.client.status.connection === 'offline' || c.client.status.connection === 'signed_out') await c.client.start().catch(() => undefined);
    await waitFor(async () => {
      for (const c of cores) if ((await c.store.pendingCount()) > 0 || c.client.status.connection !== 'live') return false;
      return true;
    }, 'every outbox to drain', 20_000);
    const truth = (await office.serverState(A)).filter((c) => c.entity === 'stop').map((c) => c.data);
    await waitFor(async () => {
      for (const c of cores) for (const s of truth) if (!isDeepStrictEqual(await c.store.stop(s.id), s)) return false;
      return true;
    }, 'every core to match the server', 10_000);

    const applied = new Set((await server.ctx.db.selectFrom('applied_mutations').select('id').execute()).map((r) => r.id));
    for (const [core, ids] of enqueued) {
      const rejected = new Set((await core.store.rejectedMutations()).map((r) => r.mutation.id));
      for (const id of ids) {
        // Applied exactly once (the server's primary key) or refused and shown, never both, never lost.
        expect(applied.has(id) !== rejected.has(id), `edit ${id}: applied=${applied.has(id)} rejected=${rejected.has(id)}`).toBe(true);
      }
    }
  }

  it('two cores edit offline, then reconnect: both converge to the server and no acknowledged edit is lost', async () => {
    const { A, office, stopIds } = await setUp(4);
    const [one, two] = cores as [Core, Core];
    await one.client.stop();
    await two.client.stop();
    const enqueued = new Map<Core, string[]>([[one, []], [two, []]]);
    const edit = async (c: Core, m: Mutation) => {
      await c.client.edit(m);
      enqueued.get(c)!.push(m.id);
    };
    await edit(one, setStatusOf(A, stopIds[0]!, 'en_route'));
    await edit(two, setStatusOf(A, stopIds[0]!, 'cancelled'));
    await edit(one, setStatusOf(A, stopIds[0]!, 'arrived'));
    await edit(two, editNotesOf(A, stopIds[1]!, 'two says'));
    await edit(one, editNotesOf(A, stopIds[1]!, 'one says'));
    await two.client.start();
    await waitFor(async () => (await two.store.pendingCount()) === 0, 'two to push');
    await one.client.start();
    await expectConverged(A, office, enqueued);
    // Two pushed first, so its cancel won; one's later status edits were refused and kept for the user.
    expect(await one.store.stop(stopIds[0]!)).toMatchObject({ status: 'cancelled', notes: expect.any(String) as string });
    expect((await one.store.rejectedMutations()).map((r) => r.code)).toEqual(['invalid_transition', 'invalid_transition']);
    expect(await two.store.stop(stopIds[1]!)).toMatchObject({ notes: 'one says' });
  });

  it('a console started while the server is down works offline and syncs once it is back', async () => {
    const { A, office, stopIds } = await setUp(2);
    const [one] = cores as [Core];
    await one.client.stop();
    await server.stop();
    // A fresh client, as after an app restart: only the refresh token in the keychain.
    const client = new SyncClient({
      serverUrl: server.url, profileId: one.profileId, dbPath: one.dbPath, store: one.store, vault: one.vault,
      log: quietLog([]), retryDelayMs: 50, retryDelayMaxMs: 300,
    });
    cores.push({ ...one, client, dispose: () => client.dispose() });
    await client.start();
    expect(client.status.connection).toBe('offline');
    const m = editNotesOf(A, stopIds[0]!, 'written offline');
    await client.edit(m);
    expect(client.status.pendingCount).toBe(1);
    await server.resume();
    await waitFor(() => client.status.connection === 'live' && client.status.pendingCount === 0, 'sync after the server is back');
    expect((await office.serverState(A)).find((c) => c.entity === 'stop' && c.data.id === stopIds[0])?.data).toMatchObject({ notes: 'written offline' });
  });

  const seeds = (process.env['DEPOTLINE_PROPERTY_SEEDS'] ?? '1,2,3,4,5,6').split(',').map(Number);
  it.each(seeds)('property: random edits, disconnects and server restarts converge (seed %i)', async (seed) => {
    const random = prng(seed);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const { A, office, stopIds } = await setUp(5);
    const enqueued = new Map<Core, string[]>(cores.map((c) => [c, []]));

    for (let step = 0; step < 60; step++) {
      const roll = random();
      const core = pick(cores);
      if (roll < 0.55) {
        const stopId = pick(stopIds);
        const current = await core.store.stop(stopId);
        const allowed = StopStatus.options.filter((to) => current && canTransitionStop(current.status, to));
        const m = allowed.length > 0 && random() < 0.6 ? setStatusOf(A, stopId, pick(allowed)) : editNotesOf(A, stopId, `s${seed}-${step}`);
        try {
          await core.client.edit(m);
          enqueued.get(core)!.push(m.id);
        } catch (err) {
          if (!(err instanceof LocalEditRefusedError)) throw err;
        }
      } else if (roll < 0.7) {
        if (core.client.status.connection === 'offline') await core.client.start();
        else await core.client.stop();
      } else if (roll < 0.8) {
        if (server.up) await server.stop();
        else await server.resume();
      } else if (roll < 0.9 && server.up) {
        await office.push([editNotesOf(A, pick(stopIds), `office-${seed}-${step}`)]).catch(() => undefined);
      } else {
        await new Promise((r) => setTimeout(r, Math.floor(random() * 80)));
      }
    }
    await server.resume();
    await expectConverged(A, office, enqueued);
  }, 60_000);
});
