import crypto from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signIn as restSignIn } from '../../../../../sync-server/test/factories';
import { backends, startTestServer, type TestServer } from '../../../../../sync-server/test/harness';
import { openProfileStore } from '../../profile/profile-store';
import type { LocalStore } from '../../store/local-store';
import { requireTestKeyring } from '../../testing/keyring';
import { decryptDatabaseFile, decryptWalFile, findNeedles } from '../../testing/sqlcipher-pages';
import { makeTempDir } from '../../testing/temp-dir';
import { buildLocation, buildUser, Office, restCall, startCore, waitFor, type Core } from './sync-fixture';

/**
 * A console that is offline when a stop's contact period ends still drops the customer's
 * identity at that time, from the period its depot set on the server, with no network at all.
 */
describe.each(backends)('local retention on an offline console (%s server)', (backend) => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let tmp: ReturnType<typeof makeTempDir>;
  let core: Core | null = null;
  let reopened: LocalStore | null = null;

  beforeEach(async () => {
    tmp = makeTempDir();
    server = await startTestServer(backend, { mfaRequiredRoles: new Set() });
  }, 60_000);
  afterEach(async () => {
    if (reopened && !reopened.closed) await reopened.close();
    reopened = null;
    await core?.dispose();
    core = null;
    await server.dispose();
    tmp.remove();
  });

  it('pseudonymises a stop when its depot\'s contact period passes while the console is offline, not before', async () => {
    const { ctx } = server;
    const A = (await buildLocation(ctx)).id;
    const admin = await buildUser(ctx, { role: 'admin', locationIds: [A] });
    const adminToken = (await restSignIn(server.url, ctx, admin)).tokens.accessToken;
    const narrowed = await restCall(server.url, 'PUT', `/locations/${A}/retention`, { token: adminToken, body: { contactDays: 1 } });
    expect(narrowed.status).toBe(200);

    const office = await Office.at(server, [A]);
    const routeId = await office.createRoute(A);
    const tag = crypto.randomBytes(4).toString('hex');
    const stopId = `stop-${tag}`;
    const end = Date.now() - 86_400_000 + 10 * 60_000; // its contact period ends in ten minutes
    const pii = [`Offline Kunde ${tag}`, `9 Ablaufweg ${tag}, Halle`, `Hoftor ${tag}`];
    await office.expectApplied([{
      id: crypto.randomUUID(), type: 'stop.create', locationId: A, createdAt: Date.now(), stopId, routeId, sequence: 0,
      customerName: pii[0]!, address: pii[1]!, phone: null, notes: pii[2]!, window: { start: end - 3_600_000, end },
    }]);

    const user = await buildUser(ctx, { role: 'dispatcher', locationIds: [A] });
    core = await startCore(server.url, tmp.dir, user);
    const c = core;
    await waitFor(async () => (await c.store.stop(stopId))?.customerName === pii[0], 'the stop to arrive');
    expect((await c.store.locations())[0]?.retention?.contactDays).toBe(1);
    // Synced and swept: still inside its period.
    await c.client.syncNow();
    expect((await c.store.stop(stopId))?.pseudonymised).toBeUndefined();

    // Offline from here on; the console is opened again twenty minutes later.
    await c.client.stop();
    await c.store.close();
    reopened = await openProfileStore({ profileId: c.profileId, dbPath: c.dbPath, vault: c.vault, now: () => Date.now() + 20 * 60_000 });
    const stop = await reopened.stop(stopId);
    expect(stop).toMatchObject({ id: stopId, routeId, pseudonymised: true, phone: null });
    expect(stop?.customerName).toBeUndefined();
    const key = (await c.vault.getKey(c.profileId, 'current'))!;
    expect(findNeedles([...decryptDatabaseFile(c.dbPath, key), ...decryptWalFile(`${c.dbPath}-wal`, key)], pii)).toEqual([]);
    // The console did this on its own: the server has not pseudonymised the stop yet.
    const row = await ctx.db.selectFrom('stops').select('pseudonymised_at').where('id', '=', stopId).executeTakeFirstOrThrow();
    expect(row.pseudonymised_at).toBeNull();
  }, 120_000);
});
