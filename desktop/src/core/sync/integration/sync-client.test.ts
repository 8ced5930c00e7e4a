import { isDeepStrictEqual } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestServer } from '../../../../../sync-server/test/harness';
import { requireTestKeyring } from '../../testing/keyring';
import { makeTempDir } from '../../testing/temp-dir';
import { buildLocation, buildUser, editNotesOf, Office, setStatusOf, startCore, startServer, waitFor, type Core } from './sync-fixture';

describe('sync client against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let tmp: ReturnType<typeof makeTempDir>;
  const cores: Core[] = [];
  let A: string;
  let B: string;
  let office: Office;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.dispose();
  });
  beforeEach(async () => {
    tmp = makeTempDir();
    A = (await buildLocation(server.ctx)).id;
    B = (await buildLocation(server.ctx)).id;
    office = await Office.at(server, [A, B]);
  });
  afterEach(async () => {
    for (const c of cores.splice(0)) await c.dispose();
    tmp.remove();
  });

  const core = async (locationIds: string[]) => {
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds });
    const c = await startCore(server.url, tmp.dir, user);
    cores.push(c);
    return c;
  };

  it('signs in, pulls its locations and applies live changes', async () => {
    const routeId = await office.createRoute(A, 'Morning run');
    const stops = await office.createStops(A, routeId, 3);
    const c = await core([A]);
    expect((await c.store.locations()).map((l) => l.id)).toEqual([A]);
    expect(await c.store.stop(stops[0]!.id)).toMatchObject({ customerName: stops[0]!.customerName, phone: stops[0]!.phone });
    expect(c.client.status).toMatchObject({ connection: 'live', pendingCount: 0 });
    expect(c.client.status.lastSyncAt).not.toBeNull();

    await office.expectApplied([editNotesOf(A, stops[1]!.id, 'Live from the office')]);
    await waitFor(async () => (await c.store.stop(stops[1]!.id))?.notes === 'Live from the office', 'the live change');
  });

  it('two cores at one location converge after concurrent edits; a core at another location stores nothing of it', async () => {
    const routeId = await office.createRoute(A);
    const stops = await office.createStops(A, routeId, 4);
    const [one, two, other] = [await core([A]), await core([A]), await core([B])];

    await Promise.all([
      one.client.edit(setStatusOf(A, stops[0]!.id, 'en_route')),
      two.client.edit(editNotesOf(A, stops[0]!.id, 'from two')),
      one.client.edit(editNotesOf(A, stops[1]!.id, 'from one')),
      two.client.edit(setStatusOf(A, stops[1]!.id, 'cancelled')),
    ]);
    const settled = async () => (await one.store.pendingCount()) === 0 && (await two.store.pendingCount()) === 0;
    await waitFor(settled, 'both outboxes to drain');
    const truth = await office.serverState(A);
    const serverStops = truth.filter((c) => c.entity === 'stop').map((c) => c.data);
    await waitFor(async () => {
      for (const s of serverStops) {
        const [x, y] = [await one.store.stop((s).id), await two.store.stop((s).id)];
        if (!isDeepStrictEqual(x, s) || !isDeepStrictEqual(y, s)) return false;
      }
      return true;
    }, 'both cores to hold exactly the server state');
    expect(await one.store.stop(stops[0]!.id)).toMatchObject({ status: 'en_route', notes: 'from two' });

    expect((await other.store.locations()).map((l) => l.id)).toEqual([B]);
    expect(await other.store.boardQuery(A)).toEqual([]);
    for (const s of stops) expect(await other.store.stop(s.id)).toBeNull();
  });

  it('a rejected edit is rolled back to the server value and kept for the user', async () => {
    const routeId = await office.createRoute(A);
    const [stop] = await office.createStops(A, routeId, 1);
    const c = await core([A]);
    await c.client.stop();
    // Offline, the core moves the stop on; meanwhile the office cancels it.
    await c.client.edit(setStatusOf(A, stop!.id, 'en_route'));
    await office.expectApplied([setStatusOf(A, stop!.id, 'cancelled')]);
    expect(await c.store.stop(stop!.id)).toMatchObject({ status: 'en_route' });
    await c.client.start();
    await waitFor(async () => (await c.store.pendingCount()) === 0 && c.client.status.connection === 'live', 'the push');
    expect(await c.store.stop(stop!.id)).toMatchObject({ status: 'cancelled' });
    const [rejected] = await c.store.rejectedMutations();
    expect(rejected).toMatchObject({ code: 'invalid_transition', mutation: { stopId: stop!.id, to: 'en_route' } });
  });

  it('a large offline backlog goes out in pushes that fit the server\'s message limit', async () => {
    const routeId = await office.createRoute(A);
    const stops = await office.createStops(A, routeId, 150);
    const c = await core([A]);
    await c.client.stop();
    // ~2 KB per edit: one push of all 150 would exceed the server's 256 KiB message cap, which
    // closes the connection instead of answering.
    const edits = stops.map((s) => editNotesOf(A, s.id, `${s.id} `.padEnd(1_900, 'x')));
    for (const m of edits) await c.client.edit(m);
    expect(c.client.status.pendingCount).toBe(150);
    await c.client.start();
    await waitFor(async () => (await c.store.pendingCount()) === 0, 'the backlog to drain', 20_000);
    expect(await c.store.rejectedMutations()).toEqual([]);
    const applied = await server.ctx.db.selectFrom('applied_mutations').select('id').where('id', 'in', edits.map((m) => m.id)).execute();
    expect(applied.length).toBe(150);
  }, 30_000);
});
