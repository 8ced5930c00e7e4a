import crypto from 'node:crypto';
import type { Mutation } from '@depotline/shared';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalEditRefusedError } from '../../errors';
import { optimisticHandlerFor } from '../../mutations/registry';
import { requireTestKeyring } from '../../testing/keyring';
import { makeTempDir } from '../../testing/temp-dir';
import { RestartableServer } from './restartable-server';
import { buildLocation, buildUser, Office, startCore, waitFor, type Core } from './sync-fixture';

/** A mutation without its id and time (one per type: `Omit` of the union would merge them). */
type MutationDraft = Mutation extends infer M ? (M extends Mutation ? Omit<M, 'id' | 'createdAt'> : never) : never;

/**
 * Two dispatchers plan the same route while the server is unreachable. When it is back, every
 * console holds what the server holds, the edit that came second is refused, and its console
 * shows it as refused with the server's value (the notice words both through the type's
 * desktop handler).
 */
describe('planning edits made offline on two consoles', () => {
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

  async function twoDispatchersOffline(stopCount: number) {
    const A = (await buildLocation(server.ctx)).id;
    const office = await Office.at(server, [A]);
    const routeId = await office.createRoute(A, 'Morning');
    const otherRouteId = await office.createRoute(A, 'Afternoon');
    const stopIds = (await office.createStops(A, routeId, stopCount)).map((s) => s.id);
    for (let i = 0; i < 2; i++) cores.push(await startCore(server.url, tmp.dir, await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] })));
    for (const c of cores) {
      await waitFor(async () => (await c.store.stopsOfRoute(routeId)).length === stopCount && (await c.store.route(otherRouteId)) !== null, 'the routes to arrive');
    }
    await server.stop();
    for (const c of cores) await waitFor(() => c.client.status.connection !== 'live', 'the console to notice the server is gone');
    return { A, routeId, otherRouteId, stopIds };
  }

  async function reconnectAll() {
    await server.resume();
    for (const c of cores) await waitFor(() => c.client.status.connection === 'live' && c.client.status.pendingCount === 0, 'the outbox to drain', 20_000);
  }

  const edit = (m: MutationDraft): Mutation => ({ id: crypto.randomUUID(), createdAt: Date.now(), ...m });

  it('renaming the same route: both converge on the server\u2019s name, the loser sees its edit refused with it', async () => {
    const { A, routeId } = await twoDispatchersOffline(1);
    const [one, two] = cores as [Core, Core];
    await one.client.edit(edit({ type: 'route.update', locationId: A, routeId, changes: { name: { from: 'Morning', to: 'North loop' } } }));
    await two.client.edit(edit({ type: 'route.update', locationId: A, routeId, changes: { name: { from: 'Morning', to: 'South loop' } } }));
    expect((await one.store.route(routeId))?.name).toBe('North loop'); // shown at once, offline
    expect((await two.store.route(routeId))?.name).toBe('South loop');

    await reconnectAll();
    const truth = (await server.ctx.db.selectFrom('routes').select('name').where('id', '=', routeId).executeTakeFirstOrThrow()).name;
    for (const c of cores) await waitFor(async () => (await c.store.route(routeId))?.name === truth, 'the console to show the server\u2019s name');
    const refused = [...(await one.store.rejectedMutations()), ...(await two.store.rejectedMutations())];
    expect(refused).toHaveLength(1);
    const [r] = refused as [(typeof refused)[number]];
    expect(r).toMatchObject({ code: 'conflict', mutation: { type: 'route.update' }, current: { entity: 'route', data: { id: routeId, name: truth } } });
    const handler = optimisticHandlerFor(r.mutation);
    expect(handler.describe(r.mutation)).toMatch(/route name: “(North|South) loop”/);
    expect(handler.describeCurrent?.(r.mutation, r.current!, new Set())).toBe(`route name: “${truth}”`);
  });

  it('reordering the same route: the second order is refused, every console shows the server\u2019s order', async () => {
    const { A, routeId, stopIds } = await twoDispatchersOffline(3);
    const [s0, s1, s2] = stopIds as [string, string, string];
    const [one, two] = cores as [Core, Core];
    await one.client.edit(edit({ type: 'route.reorder', locationId: A, routeId, expected: [s0, s1, s2], stopIds: [s2, s1, s0] }));
    await two.client.edit(edit({ type: 'route.reorder', locationId: A, routeId, expected: [s0, s1, s2], stopIds: [s1, s0, s2] }));

    await reconnectAll();
    const truth = (await server.ctx.db.selectFrom('stops').select('id').where('route_id', '=', routeId).orderBy('sequence').execute()).map((s) => s.id);
    expect([[s2, s1, s0], [s1, s0, s2]]).toContainEqual(truth);
    for (const c of cores) {
      await waitFor(async () => (await c.store.stopsOfRoute(routeId)).map((s) => s.id).join() === truth.join(), 'the console to show the server\u2019s order');
      expect((await c.store.stopsOfRoute(routeId)).map((s) => s.sequence)).toEqual([0, 1, 2]);
    }
    const refused = [...(await one.store.rejectedMutations()), ...(await two.store.rejectedMutations())];
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ code: 'conflict', mutation: { type: 'route.reorder' }, current: { entity: 'route', data: { id: routeId } } });
  });

  it('moving a stop the other console cancelled: the move is refused and rolled back to the cancelled stop', async () => {
    const { A, routeId, otherRouteId, stopIds } = await twoDispatchersOffline(2);
    const [one, two] = cores as [Core, Core];
    const stopId = stopIds[0]!;
    await one.client.edit(edit({ type: 'stop.cancel', locationId: A, stopId }));
    await two.client.edit(edit({ type: 'stop.move', locationId: A, stopId, fromRouteId: routeId, toRouteId: otherRouteId, sequence: 0 }));
    expect(await two.store.stop(stopId)).toMatchObject({ routeId: otherRouteId, status: 'planned' }); // shown at once, offline

    // The first console reaches the server first.
    await two.client.stop();
    await server.resume();
    await waitFor(() => one.client.status.connection === 'live' && one.client.status.pendingCount === 0, 'the cancel to be delivered', 20_000);
    await two.client.start();
    await waitFor(() => two.client.status.connection === 'live' && two.client.status.pendingCount === 0, 'the move to be answered', 20_000);

    const [refused] = await two.store.rejectedMutations();
    expect(refused).toMatchObject({ code: 'invalid_transition', mutation: { type: 'stop.move' }, current: { entity: 'stop', data: { id: stopId, status: 'cancelled', routeId } } });
    for (const c of cores) {
      await waitFor(async () => {
        const s = await c.store.stop(stopId);
        return s?.status === 'cancelled' && s.routeId === routeId;
      }, 'the console to show the cancelled stop on its route');
    }
    expect(optimisticHandlerFor(refused!.mutation).describeCurrent?.(refused!.mutation, refused!.current!, new Set())).toBe(`on route ${routeId}, position 1`);
  });

  it('a driver created on one console reaches the other; once retired, assigning them is refused there too', async () => {
    const A = (await buildLocation(server.ctx)).id;
    const office = await Office.at(server, [A]);
    const routeId = await office.createRoute(A, 'Evening');
    const manager = await startCore(server.url, tmp.dir, await buildUser(server.ctx, { role: 'manager', locationIds: [A] }));
    const dispatcher = await startCore(server.url, tmp.dir, await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] }));
    cores.push(manager, dispatcher);
    const driverId = `drv-${crypto.randomBytes(4).toString('hex')}`;
    await manager.client.edit(edit({ type: 'driver.create', locationId: A, driverId, name: 'Grace Hopper' }));
    await waitFor(async () => (await dispatcher.store.drivers(A)).some((d) => d.id === driverId && d.name === 'Grace Hopper'), 'the driver to reach the second console');

    await manager.client.edit(edit({ type: 'driver.retire', locationId: A, driverId }));
    await waitFor(() => manager.client.status.pendingCount === 0, 'the retirement to be delivered');
    // Refused by the console's own check when it already knows of the retirement, otherwise by
    // the server, with the route's value, and rolled back.
    const refusedLocally = await dispatcher.client.edit(edit({ type: 'route.assign', locationId: A, routeId, driverId, vehicleId: null }))
      .then(() => false, (err: unknown) => {
        if (err instanceof LocalEditRefusedError) return true;
        throw err;
      });
    if (!refusedLocally) {
      await waitFor(async () => (await dispatcher.store.rejectedMutations()).length === 1, 'the assignment to be refused');
      expect((await dispatcher.store.rejectedMutations())[0]).toMatchObject({ code: 'conflict', current: { entity: 'route', data: { id: routeId, driverId: null } } });
    }
    await waitFor(async () => (await dispatcher.store.route(routeId))?.driverId === null && dispatcher.client.status.pendingCount === 0, 'the console to show the route unassigned');
    expect((await server.ctx.db.selectFrom('routes').select('driver_id').where('id', '=', routeId).executeTakeFirstOrThrow()).driver_id).toBeNull();
  });
});
