/**
 * The admin part of the Security screen (issue 9) through the ConsoleService and the
 * BridgeDispatcher, against a real sync-server, the real keychain and real SQLCipher files: a
 * depot's admin lists its users' alerts and held sign-ins and approves one; a dispatcher gets
 * none of it; an admin of one of the user's depots only is refused, and told why.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { raiseSecurityAlert } from '../../../sync-server/src/auth/security-alerts';
import { signIn as restSignIn, testOperator, totpNow, type BuiltUser } from '../../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../../sync-server/test/harness';
import { requireTestKeyring } from '../../src/core/testing/keyring';
import { buildLocation, buildUser, waitFor } from '../../src/core/sync/integration/sync-fixture';
import { BridgeDispatcher, bridgeHandlersFor } from '../../src/main/bridge/dispatch';
import type { ConsoleService } from '../../src/main/service/console-service';
import { newInstallation, newService } from '../support/console-fixture';

const appSender = { url: 'app://depotline/index.html', isMainFrame: true };

describe('a depot admin\'s alerts and held sign-ins in the console, against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let A: string;
  let B: string;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    // Finance users are held on a computer they never used; admins and dispatchers have an authenticator.
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set(['dispatcher', 'admin']), deviceApprovalRoles: new Set(['finance']) });
    A = (await buildLocation(server.ctx, { name: 'Depot Alpha' })).id;
    B = (await buildLocation(server.ctx, { name: 'Depot Beta' })).id;
  });
  afterAll(async () => {
    await server.dispose();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  function console_(): ConsoleService {
    const i = newInstallation();
    cleanup.push(() => i.dispose());
    const service = newService(i, server.url, { sync: { retryDelayMs: 50, retryDelayMaxMs: 400, ackTimeoutMs: 4000, approvalPollMs: 100 }, deviceName: 'Front desk' });
    cleanup.push(() => service.dispose());
    return service;
  }

  /** Signed in, with the depots synced: the admin part is offered by the permissions synced there. */
  async function signedIn(user: BuiltUser): Promise<ConsoleService> {
    const service = console_();
    const state = await service.signIn({ username: user.username, password: user.password, ...(user.totpSecret ? { totp: totpNow(server.ctx, user) } : {}) });
    expect(state.screen).toBe('console');
    await waitFor(async () => (await service.data.listLocations()).length > 0, 'the depots to sync');
    return service;
  }

  /** A finance user's sign-in on a second computer, held (their first computer was trusted at its sign-in). */
  async function heldSignIn(user: BuiltUser): Promise<ConsoleService> {
    await restSignIn(server.url, server.ctx, user);
    const held = console_();
    expect((await held.signIn({ username: user.username, password: user.password })).screen).toBe('awaiting_approval');
    return held;
  }

  it('an admin sees the depot\'s alerts and held sign-ins and approves one; a dispatcher sees none of it', async () => {
    const admin = await signedIn(await buildUser(server.ctx, { role: 'admin', locationIds: [A], withTotp: true }));
    const dispatcher = await signedIn(await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A], withTotp: true }));
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [A] });
    const held = await heldSignIn(user);
    await raiseSecurityAlert(server.ctx.db, { userId: user.id, kind: 'password_reset', actor: testOperator }, server.ctx.now());

    // The dispatcher holds neither permission: the screen draws no admin part, and main refuses the calls.
    const [depot] = await dispatcher.data.listLocations();
    expect(depot!.permissions).not.toContain('security.read');
    expect(depot!.permissions).not.toContain('session.revokeAny');
    await expect(dispatcher.security.locationSecurity({ locationId: A })).rejects.toMatchObject({ code: 'forbidden' });

    // The admin, through the same dispatcher Electron's IPC uses.
    expect((await admin.data.listLocations())[0]!.permissions).toEqual(expect.arrayContaining(['security.read', 'session.revokeAny']));
    const bridge = new BridgeDispatcher(bridgeHandlersFor(admin), { isTrustedSender: () => true });
    const listed = await bridge.dispatch('locationSecurity', appSender, { locationId: A });
    expect(listed.ok).toBe(true);
    if (!listed.ok) return;
    const view = listed.value as { alerts: Array<Record<string, unknown>>; signInRequests: Array<Record<string, unknown>> };
    expect(view.signInRequests).toEqual([expect.objectContaining({ username: user.username, deviceName: 'Front desk', status: 'pending' })]);
    expect(view.alerts).toContainEqual(expect.objectContaining({ username: user.username, kind: 'password_reset', readAt: null }));
    // Only what the screen draws: no user ids, device ids or alert ids; the request's own id, to decide it.
    const devices = await server.ctx.db.selectFrom('user_devices').select('device_id').where('user_id', '=', user.id).execute();
    const crossed = JSON.stringify(listed);
    for (const id of [user.id, ...devices.map((d) => d.device_id)]) expect(crossed).not.toContain(id);
    for (const alert of view.alerts) expect(Object.keys(alert)).not.toContain('id');
    const request = view.signInRequests[0]!;
    expect(Object.keys(request).sort()).toEqual(['deviceName', 'expiresAt', 'id', 'ip', 'platform', 'requestedAt', 'status', 'username']);

    await expect(dispatcher.security.decideUserSignIn({ locationId: A, id: request['id'] as string, approve: true })).rejects.toMatchObject({ code: 'forbidden' });
    const decided = await bridge.dispatch('decideUserSignIn', appSender, { locationId: A, id: request['id'], approve: true });
    expect(decided).toMatchObject({ ok: true, value: { status: 'approved', username: user.username } });
    await waitFor(() => held.state.screen === 'console', 'the held console to open');
    expect((await admin.security.locationSecurity({ locationId: A })).signInRequests).toEqual([]);
  });

  it('an admin of one of the user\'s depots only is refused, is told why, and nothing changes', async () => {
    const admin = await signedIn(await buildUser(server.ctx, { role: 'admin', locationIds: [A], withTotp: true }));
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [A, B] });
    const held = await heldSignIn(user);
    const [request] = (await admin.security.locationSecurity({ locationId: A })).signInRequests.filter((r) => r.username === user.username);
    expect(request).toMatchObject({ status: 'pending' });
    const refused = admin.security.decideUserSignIn({ locationId: A, id: request!.id, approve: false });
    await expect(refused).rejects.toMatchObject({ code: 'forbidden' });
    await expect(refused).rejects.toThrow('also works at a depot where you may not end sessions');
    expect(held.state.screen).toBe('awaiting_approval');
    const row = await server.ctx.db.selectFrom('sign_in_requests').select('status').where('id', '=', request!.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('pending');
  });
});
