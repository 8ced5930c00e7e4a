/**
 * The console's Security calls and the sign-in steps before a session (issue 9), through the
 * ConsoleService and the BridgeDispatcher, against a real sync-server, the real keychain and
 * real SQLCipher files: held sign-ins approved and denied from another console, a password
 * change after an administrator's reset, sessions, devices, alerts and recovery codes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resetPasswordByAdmin } from '../../../sync-server/src/auth/password-change';
import { raiseSecurityAlert } from '../../../sync-server/src/auth/security-alerts';
import { signIn as restSignIn, testOperator, totpNow, type BuiltUser } from '../../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../../sync-server/test/harness';
import { requireTestKeyring } from '../../src/core/testing/keyring';
import { buildLocation, buildUser, waitFor } from '../../src/core/sync/integration/sync-fixture';
import type { ConsoleService } from '../../src/main/service/console-service';
import { newInstallation, newService, type Installation } from '../support/console-fixture';

describe('the Security calls and held sign-ins against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let A: string;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    // Finance users (no authenticator) are held on a new device here, so a test can sign in
    // several times without spending TOTP codes; dispatchers have an authenticator.
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set(['dispatcher']), deviceApprovalRoles: new Set(['finance']) });
    A = (await buildLocation(server.ctx, { name: 'Depot Alpha' })).id;
  });
  afterAll(async () => {
    await server.dispose();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  function console_(): { i: Installation; service: ConsoleService } {
    const i = newInstallation();
    cleanup.push(() => i.dispose());
    const service = newService(i, server.url, { sync: { retryDelayMs: 50, retryDelayMaxMs: 400, ackTimeoutMs: 4000, approvalPollMs: 100 }, deviceName: 'Front desk' });
    cleanup.push(() => service.dispose());
    return { i, service };
  }

  async function signedIn(user: BuiltUser) {
    const c = console_();
    const state = await c.service.signIn({ username: user.username, password: user.password, ...(user.totpSecret ? { totp: totpNow(server.ctx, user) } : {}) });
    expect(state.screen).toBe('console');
    return c;
  }

  const sessionsOf = async (userId: string) =>
    server.ctx.db.selectFrom('sessions').select(['id', 'device_id']).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();

  it('lists this device and session, signs out another session, and will not end its own', async () => {
    const user = await buildUser(server.ctx, { role: 'driver', locationIds: [A] });
    const { service } = await signedIn(user);
    const other = await restSignIn(server.url, server.ctx, user);

    const overview = await service.security.overview();
    expect(overview.sessions).toHaveLength(2);
    expect(overview.sessions[0]).toMatchObject({ current: true, deviceName: 'Front desk' });
    expect(overview.devices?.find((d) => d.current)).toMatchObject({ name: 'Front desk', trusted: true });
    expect(overview.recoveryCodes).toEqual({ remaining: 0, createdAt: null });

    await service.security.revokeSession({ id: other.tokens.sessionId });
    expect((await sessionsOf(user.id)).map((s) => s.id)).not.toContain(other.tokens.sessionId);
    const mine = overview.sessions[0]!.id;
    await expect(service.security.revokeSession({ id: mine })).rejects.toMatchObject({ code: 'bad_request' });
    const thisDevice = overview.devices!.find((d) => d.current)!.id;
    await expect(service.security.revokeDevice({ id: thisDevice })).rejects.toMatchObject({ code: 'bad_request' });
    expect(service.state.screen).toBe('console');

    const renamed = await service.security.renameDevice({ id: thisDevice, name: 'Dispatch desk 2' });
    expect(renamed).toMatchObject({ name: 'Dispatch desk 2', current: true });
  });

  it('an alert stays among the notices until it is marked read', async () => {
    const user = await buildUser(server.ctx, { role: 'driver', locationIds: [A] });
    const { service } = await signedIn(user);
    await raiseSecurityAlert(server.ctx.db, { userId: user.id, kind: 'password_reset', actor: testOperator }, server.ctx.now());
    const before = await service.security.notices();
    const alert = before.alerts.find((a) => a.kind === 'password_reset');
    expect(alert).toMatchObject({ readAt: null });
    expect((await service.security.notices()).alerts.map((a) => a.id)).toContain(alert!.id);
    await service.security.markAlertRead({ id: alert!.id });
    expect((await service.security.notices()).alerts.map((a) => a.id)).not.toContain(alert!.id);
    const listed = (await service.security.overview()).alerts!.find((a) => a.id === alert!.id);
    expect(listed?.readAt).toEqual(expect.any(Number));
  });

  it('makes ten recovery codes with the password and code, once; a wrong password makes none', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A], withTotp: true });
    const { service } = await signedIn(user);
    await expect(service.security.regenerateRecoveryCodes({ password: 'not the password', totp: totpNow(server.ctx, user, 1) }))
      .rejects.toMatchObject({ code: 'invalid_credentials' });
    const set = await service.security.regenerateRecoveryCodes({ password: user.password, totp: totpNow(server.ctx, user, 1) });
    expect(set.codes).toHaveLength(10);
    expect(new Set(set.codes).size).toBe(10);
    expect((await service.security.overview()).recoveryCodes).toMatchObject({ remaining: 10 });
  });

  it('a password change ends the other sessions, and from then on the new password unlocks this console', async () => {
    const user = await buildUser(server.ctx, { role: 'driver', locationIds: [A] });
    const { service } = await signedIn(user);
    await restSignIn(server.url, server.ctx, user);
    const newPassword = 'bright lantern over the harbour';
    await expect(service.security.changePassword({ currentPassword: 'wrong password', newPassword })).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(await service.security.changePassword({ currentPassword: user.password, newPassword })).toEqual({ sessionsEnded: 1 });
    expect(await sessionsOf(user.id)).toHaveLength(1);
    await service.lock();
    await expect(service.unlock({ password: user.password })).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect((await service.unlock({ password: newPassword })).screen).toBe('console');
  });

  it('a sign-in on a new device waits, is approved from a trusted console, and opens', async () => {
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [A] });
    const trusted = await signedIn(user);
    const held = console_();
    const state = await held.service.signIn({ username: user.username, password: user.password });
    expect(state).toMatchObject({ screen: 'awaiting_approval', username: user.username });
    expect(await sessionsOf(user.id)).toHaveLength(1);

    const { signInRequests } = await trusted.service.security.notices();
    expect(signInRequests).toHaveLength(1);
    expect(signInRequests[0]).toMatchObject({ status: 'pending', deviceName: 'Front desk' });
    expect(await trusted.service.security.decideSignIn({ id: signInRequests[0]!.id, approve: true })).toMatchObject({ status: 'approved' });
    await waitFor(() => held.service.state.screen === 'console', 'the held console to open');
    expect(await sessionsOf(user.id)).toHaveLength(2);
    // Its password unlocks it like any sign-in's.
    await held.service.lock();
    expect((await held.service.unlock({ password: user.password })).screen).toBe('console');
  });

  it('a denied sign-in never gets a session and leaves nothing on the computer', async () => {
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [A] });
    const trusted = await signedIn(user);
    const held = console_();
    expect((await held.service.signIn({ username: user.username, password: user.password })).screen).toBe('awaiting_approval');
    const [request] = (await trusted.service.security.notices()).signInRequests;
    expect(await trusted.service.security.decideSignIn({ id: request!.id, approve: false })).toMatchObject({ status: 'denied' });
    await waitFor(() => held.service.state.screen === 'sign_in', 'the held console to give up');
    expect(held.service.state).toMatchObject({ screen: 'sign_in', notice: 'approval_denied' });
    expect(await sessionsOf(user.id)).toHaveLength(1);
    expect(held.i.files()).toEqual([]);
  });

  it('a held sign-in can be cancelled; the wait stops and the profile goes', async () => {
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [A] });
    await signedIn(user);
    const held = console_();
    expect((await held.service.signIn({ username: user.username, password: user.password })).screen).toBe('awaiting_approval');
    expect((await held.service.backToSignIn())).toMatchObject({ screen: 'sign_in', notice: null });
    expect(held.i.files()).toEqual([]);
  });

  it('after an administrator\'s reset the console asks for a new password and completes the sign-in with it', async () => {
    const user = await buildUser(server.ctx, { role: 'driver', locationIds: [A] });
    const oneTime = 'Temporary-7f3a-admin-given';
    await resetPasswordByAdmin(server.ctx, testOperator, user.id, oneTime);
    const { service } = console_();
    const state = await service.signIn({ username: user.username, password: oneTime });
    expect(state).toMatchObject({ screen: 'password_change_required', username: user.username });
    await expect(service.completePasswordChange({ newPassword: oneTime })).rejects.toMatchObject({ code: 'weak_password' });
    const newPassword = 'quiet orchard behind the depot';
    expect((await service.completePasswordChange({ newPassword })).screen).toBe('console');
    await service.lock();
    await expect(service.unlock({ password: oneTime })).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect((await service.unlock({ password: newPassword })).screen).toBe('console');
  });

  it('opens the security-key page in the browser only when it is on the configured server\'s origin', async () => {
    const user = await buildUser(server.ctx, { role: 'driver', locationIds: [A] });
    const opened: string[] = [];
    const openExternal = (url: string) => Promise.resolve(void opened.push(url));
    const keyOrigin = server.ctx.config.webauthn!.origin;
    expect(keyOrigin).not.toBe(server.url); // the test server's key page is on localhost, the console talks to 127.0.0.1

    const elsewhere = console_();
    const other = newService(elsewhere.i, server.url, { openExternal });
    cleanup.push(() => other.dispose());
    expect((await other.signIn({ username: user.username, password: user.password })).screen).toBe('console');
    expect((await other.security.overview()).canRegisterKeys).toBe(true);
    await expect(other.security.registerSecurityKey({ name: 'Blue key', password: user.password })).rejects.toMatchObject({ code: 'forbidden' });
    expect(opened).toEqual([]);

    const same = console_();
    const here = newService(same.i, keyOrigin, { openExternal });
    cleanup.push(() => here.dispose());
    expect((await here.signIn({ username: user.username, password: user.password })).screen).toBe('console');
    expect((await here.security.registerSecurityKey({ name: 'Blue key', password: user.password })).expiresAt).toBeGreaterThan(Date.now());
    expect(opened).toHaveLength(1);
    expect(new URL(opened[0]!).origin).toBe(keyOrigin);
    expect((await here.security.overview()).keys).toEqual([]);
  });
});
