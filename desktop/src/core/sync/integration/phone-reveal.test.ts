import crypto from 'node:crypto';
import type { Mutation } from '@depotline/shared';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requireTestKeyring } from '../../testing/keyring';
import { makeTempDir } from '../../testing/temp-dir';
import { RestartableServer } from './restartable-server';
import { buildLocation, buildUser, Office, startCore, waitFor, type Core } from './sync-fixture';

/**
 * A phone number revealed while the console is offline is a sensitive read the depot must still
 * learn about: the reveal waits in the encrypted outbox and reaches the central audit log once
 * the console reconnects, carrying the time it happened, not the time it arrived.
 */
describe('a phone reveal made offline', () => {
  beforeAll(requireTestKeyring);
  let server: RestartableServer;
  let tmp: ReturnType<typeof makeTempDir>;
  let core: Core | null = null;

  beforeEach(async () => {
    tmp = makeTempDir();
    server = await RestartableServer.start();
  });
  afterEach(async () => {
    await core?.dispose();
    core = null;
    await server.dispose();
    tmp.remove();
  });

  it('is queued, changes nothing locally, and is audited on reconnect with its original time, once', async () => {
    const A = (await buildLocation(server.ctx)).id;
    const office = await Office.at(server, [A]);
    const [stop] = await office.createStops(A, await office.createRoute(A), 1);
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    core = await startCore(server.url, tmp.dir, user);
    const c = core;
    await waitFor(async () => (await c.store.stop(stop!.id)) !== null, 'the stop to arrive');
    const before = await c.store.stop(stop!.id);

    await server.stop();
    await waitFor(() => c.client.status.connection !== 'live', 'the console to notice the server is gone');
    const revealedAt = Date.now();
    const reveal: Mutation = { id: crypto.randomUUID(), type: 'stop.revealPhone', locationId: A, createdAt: revealedAt, stopId: stop!.id };
    await c.client.edit(reveal);
    expect(c.client.status.pendingCount).toBe(1);
    expect((await c.store.pendingMutations()).map((p) => p.mutation)).toEqual([reveal]);
    expect(await c.store.stop(stop!.id)).toEqual(before); // a read: the record is untouched

    await server.resume();
    await waitFor(() => c.client.status.connection === 'live' && c.client.status.pendingCount === 0, 'the reveal to be delivered');
    expect(await c.store.rejectedMutations()).toEqual([]);
    expect(await c.store.stop(stop!.id)).toEqual(before);

    const entries = await server.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'stop.revealPhone').execute();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ outcome: 'ok', actor_user_id: user.id, target_type: 'stop', target_id: stop!.id, location_id: A });
    expect(JSON.parse(entries[0]!.details)).toEqual({ mutationId: reveal.id, stopId: stop!.id, revealedAt });
    expect(Number(entries[0]!.at)).toBeGreaterThanOrEqual(revealedAt);
    expect(entries[0]!.details).not.toContain(stop!.phone);
  });
});
