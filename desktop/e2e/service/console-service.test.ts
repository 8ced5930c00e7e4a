/**
 * The ConsoleService (the logic behind every bridge call) against a real sync-server, the real
 * keychain and real SQLCipher files, through the same BridgeDispatcher Electron's IPC uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BridgeEventMessage, BridgeResult, ConsoleState } from '@depotline/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { revokeSession } from '../../../sync-server/src/auth/sessions';
import { base32Decode, totp } from '../../../sync-server/src/auth/totp';
import { totpNow, type BuiltUser } from '../../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../../sync-server/test/harness';
import { KeytarVault } from '../../src/core';
import { requireTestKeyring } from '../../src/core/testing/keyring';
import { RestartableServer } from '../../src/core/sync/integration/restartable-server';
import { buildLocation, buildUser, Office, setStatusOf, waitFor } from '../../src/core/sync/integration/sync-fixture';
import { BridgeDispatcher, bridgeHandlersFor } from '../../src/main/bridge/dispatch';
import type { ConsoleService } from '../../src/main/service/console-service';
import { ConsoleError } from '../../src/main/service/console-error';
import { newInstallation, newService, type Installation } from '../support/console-fixture';

const appSender = { url: 'app://depotline/index.html', isMainFrame: true };

describe('console service against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let A: string;
  let B: string;
  let office: Office;
  let stops: Awaited<ReturnType<Office['createStops']>>;
  let routeId: string;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    // Dispatchers must use MFA here (the default policy); office staff seed data as managers.
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set(['dispatcher']) });
    A = (await buildLocation(server.ctx, { name: 'Depot Alpha' })).id;
    B = (await buildLocation(server.ctx, { name: 'Depot Beta' })).id;
    office = await Office.at(server, [A, B], 'manager');
    routeId = await office.createRoute(A, 'Alpha 1');
    stops = await office.createStops(A, routeId, 4);
    const routeB = await office.createRoute(B, 'Beta 1');
    await office.createStops(B, routeB, 2);
  });
  afterAll(async () => {
    await server.dispose();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  function install(): Installation {
    const i = newInstallation();
    cleanup.push(() => i.dispose());
    return i;
  }

  function console_(i: Installation, options: Parameters<typeof newService>[2] = {}, url = server.url): ConsoleService {
    const service = newService(i, url, options);
    cleanup.push(() => service.dispose());
    return service;
  }

  const credentials = (user: BuiltUser, offsetSteps = 0) => ({
    username: user.username, password: user.password, ...(user.totpSecret ? { totp: totpNow(server.ctx, user, offsetSteps) } : {}),
  });

  async function signedIn(role: 'dispatcher' | 'finance' | 'reporting' | 'driver', options: Parameters<typeof newService>[2] = {}) {
    const i = install();
    const user = await buildUser(server.ctx, { role, locationIds: [A], withTotp: role === 'dispatcher' });
    const service = console_(i, options);
    expect((await service.signIn(credentials(user))).screen).toBe('console');
    await waitFor(async () => (await service.syncStatus()).connection === 'live' && (await service.data.listLocations()).length > 0, 'the console to sync');
    return { i, user, service };
  }

  it('a dispatcher signs in with password and authenticator code; without the code the server asks for it and nothing stays behind', async () => {
    const i = install();
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A], withTotp: true });
    const service = console_(i);
    await expect(service.signIn({ username: user.username, password: user.password })).rejects.toMatchObject({ code: 'mfa_required' });
    expect(service.state.screen).toBe('sign_in');
    expect(i.files()).toEqual([]);
    await expect(service.signIn({ ...credentials(user), password: 'not the password' })).rejects.toMatchObject({ code: 'invalid_credentials' });
    const state = await service.signIn(credentials(user));
    expect(state).toMatchObject({ screen: 'console', user: { username: user.username, displayName: user.displayName }, idleLockMs: 600_000 });
    expect(i.profileIds()).toHaveLength(1);
  });

  it('the first sign-in of a role that needs MFA enrolls an authenticator from a QR key', async () => {
    const i = install();
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const service = console_(i);
    const state = await service.signIn({ username: user.username, password: user.password });
    if (state.screen !== 'enroll_mfa') throw new Error(`expected enrollment, got ${state.screen}`);
    expect(state.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    await expect(service.confirmMfaEnrollment({ code: '000000' })).rejects.toMatchObject({ code: 'mfa_invalid' });
    const code = totp(base32Decode(state.secretBase32), server.ctx.now());
    expect((await service.confirmMfaEnrollment({ code })).screen).toBe('console');
  });

  it('a dispatcher sees only the depots their grant names', async () => {
    const { service } = await signedIn('dispatcher');
    expect((await service.data.listLocations()).map((l) => l.id)).toEqual([A]);
    await expect(service.data.queryBoard({ locationId: B })).rejects.toMatchObject({ code: 'forbidden' });
    const rows = await service.data.listStops({ locationId: A, routeId: null });
    expect(rows.map((r) => r.id).sort()).toEqual(stops.map((s) => s.id).sort());
  });

  it('locking hides every piece of data, announces no change, and only the password brings it back', async () => {
    const { service, user } = await signedIn('dispatcher');
    const dispatcher = new BridgeDispatcher(bridgeHandlersFor(service), { isTrustedSender: () => true });
    const events: BridgeEventMessage[] = [];
    service.onEvent((m) => events.push(m));
    const stop = stops[0]!;
    expect((await dispatcher.dispatch('lock', appSender, {}))).toMatchObject({ ok: true, value: { screen: 'locked', reason: 'manual' } });

    const calls: Array<[string, unknown]> = [
      ['listLocations', {}], ['queryBoard', { locationId: A }], ['listStops', { locationId: A, routeId: null }], ['stopDetail', { stopId: stop.id }],
      ['setStopStatus', { stopId: stop.id, to: 'en_route' }], ['editStopNotes', { stopId: stop.id, notes: 'x' }], ['listPositions', { locationId: A }],
      ['listRejected', {}], ['syncNow', {}],
    ];
    for (const [name, args] of calls) {
      const res = await dispatcher.dispatch(name, appSender, args);
      expect(res, name).toMatchObject({ ok: false, error: { code: 'locked' } });
      expect(JSON.stringify(res)).not.toContain(stop.customerName);
    }

    // A change arrives while locked: nothing is announced to the page.
    await office.expectApplied([setStatusOf(A, stops[1]!.id, 'cancelled')]);
    // A fixed wait on purpose: a locked console shows nothing that says the change has arrived
    // (that is what this checks), so it is given time to; the unlocked read below proves it did.
    await new Promise((r) => setTimeout(r, 400));
    expect(events.filter((e) => e.event === 'dataChanged')).toEqual([]);

    await expect(service.unlock({ password: 'wrong password' })).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(service.state.screen).toBe('locked');
    expect((await service.unlock({ password: user.password })).screen).toBe('console');
    const after = await service.data.listStops({ locationId: A, routeId });
    expect(after.find((s) => s.id === stops[1]!.id)?.status).toBe('cancelled');
  });

  it(`too many wrong unlock passwords sign the user out, and the session kept on this computer goes`, async () => {
    const { service, i } = await signedIn('dispatcher');
    await service.lock();
    for (let n = 1; n < 5; n++) await expect(service.unlock({ password: `wrong ${n}` })).rejects.toBeInstanceOf(ConsoleError);
    await expect(service.unlock({ password: 'wrong 5' })).rejects.toThrow(/signed out/);
    expect(service.state).toMatchObject({ screen: 'sign_in', notice: 'signed_out' });
    const profileId = i.profileIds()[0]!;
    expect(await i.vault.getRefreshToken(profileId)).toBeNull();
    expect(await i.verifiers.get(profileId)).toBeNull();
  });

  it('locks itself after the idle time the policy sets; activity postpones it', async () => {
    let now = Date.now();
    const { service } = await signedIn('driver', { idleLockMs: 60_000, now: () => now });
    now += 50_000;
    service.checkIdle();
    expect(service.state.screen).toBe('console');
    await service.reportActivity();
    now += 50_000;
    service.checkIdle();
    expect(service.state.screen).toBe('console');
    now += 10_001;
    service.checkIdle();
    expect(service.state).toMatchObject({ screen: 'locked', reason: 'idle' });
  });

  it('a finance user never receives delivery notes and cannot edit them', async () => {
    const { service } = await signedIn('finance');
    const dispatcher = new BridgeDispatcher(bridgeHandlersFor(service), { isTrustedSender: () => true });
    const answers: Array<BridgeResult<unknown>> = [];
    for (const [name, args] of [
      ['listStops', { locationId: A, routeId: null }], ['queryBoard', { locationId: A, search: 'Hinterhof' }],
      ...stops.map((s) => ['stopDetail', { stopId: s.id }] as const), ['editStopNotes', { stopId: stops[0]!.id, notes: 'sneaky' }],
      ['setStopStatus', { stopId: stops[0]!.id, to: 'en_route' }], ['revealStopPhone', { stopId: stops[1]!.id }],
    ] as const) {
      answers.push(await dispatcher.dispatch(name, appSender, args));
    }
    const all = JSON.stringify(answers);
    for (const s of stops) {
      expect(all).not.toContain(s.notes);
      expect(all).not.toContain(s.phone);
      expect(all).toContain(s.customerName); // finance may see customers
    }
    const detail = answers[2] as BridgeResult<{ stop: object; notesVisible: boolean; canEditNotes: boolean; allowedTransitions: string[] }>;
    expect(detail).toMatchObject({ ok: true, value: { notesVisible: false, canEditNotes: false, allowedTransitions: [] } });
    if (detail.ok) expect('notes' in detail.value.stop).toBe(false);
    expect(answers.at(-3)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(answers.at(-2)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(answers.at(-1)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    if (detail.ok) expect('phone' in detail.value).toBe(false); // not even masked: finance has no phones at all
    expect((await dispatcher.dispatch('queryBoard', appSender, { locationId: A, search: 'Hinterhof' }))).toEqual({ ok: true, value: [] });
  });

  it('offers only the status changes the state machine allows, and refuses the rest', async () => {
    const { service } = await signedIn('dispatcher');
    const stop = stops[2]!;
    const detail = await service.data.stopDetail({ stopId: stop.id });
    expect(detail.allowedTransitions.sort()).toEqual(['cancelled', 'en_route']);
    expect(detail).toMatchObject({ notesVisible: true, canEditNotes: true, phone: 'masked', stop: { notes: stop.notes } });
    expect(JSON.stringify(detail)).not.toContain(stop.phone);
    await expect(service.data.setStopStatus({ stopId: stop.id, to: 'delivered' })).rejects.toMatchObject({ code: 'invalid_transition' });
    const after = await service.data.setStopStatus({ stopId: stop.id, to: 'en_route' });
    expect(after.stop.status).toBe('en_route');
    expect(after.allowedTransitions.sort()).toEqual(['arrived', 'failed', 'planned']);
    await waitFor(async () => (await service.syncStatus()).pendingCount === 0, 'the edit to reach the server');
    const server_ = await office.serverState(A);
    expect(server_.find((c) => c.entity === 'stop' && c.data.id === stop.id)?.data).toMatchObject({ status: 'en_route' });

    const reporting = await signedIn('reporting');
    const seen = await reporting.service.data.stopDetail({ stopId: stop.id });
    expect(seen.allowedTransitions).toEqual([]);
    expect(seen.stop.customerName).toBeUndefined();
    await expect(reporting.service.data.setStopStatus({ stopId: stop.id, to: 'arrived' })).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('a phone number crosses the bridge only when revealed, and the reveal is audited on the server', async () => {
    const { service, user } = await signedIn('dispatcher');
    const stop = stops[3]!;
    expect(JSON.stringify(await service.data.stopDetail({ stopId: stop.id }))).not.toContain(stop.phone);
    // The stops of this world were made without an email: the contact reveal says so.
    expect(await service.data.revealStopPhone({ stopId: stop.id })).toEqual({ phone: stop.phone, email: null });
    await waitFor(async () => (await service.syncStatus()).pendingCount === 0, 'the reveal to reach the server');
    const entries = await server.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'stop.revealPhone').where('actor_user_id', '=', user.id).execute();
    expect(entries.map((e) => [e.outcome, e.target_id])).toEqual([['ok', stop.id]]);
    expect(JSON.stringify(entries)).not.toContain(stop.phone);
    // Still masked in the detail: the number lives only where it was revealed.
    expect((await service.data.stopDetail({ stopId: stop.id })).phone).toBe('masked');
  });

  it('no token, key or verifier ever crosses the bridge', async () => {
    const events: BridgeEventMessage[] = [];
    const i = install();
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A], withTotp: true });
    const service = console_(i);
    service.onEvent((m) => events.push(m));
    const dispatcher = new BridgeDispatcher(bridgeHandlersFor(service), { isTrustedSender: () => true });
    const answers: unknown[] = [await dispatcher.dispatch('signIn', appSender, credentials(user))];
    await waitFor(async () => (await service.syncStatus()).connection === 'live', 'live');
    for (const [name, args] of [
      ['getState', {}], ['listLocations', {}], ['queryBoard', { locationId: A }], ['listStops', { locationId: A, routeId: null }],
      ['stopDetail', { stopId: stops[3]!.id }], ['syncStatus', {}], ['syncNow', {}], ['listRejected', {}],
      // The Security screen: what the server says of this session, device and factors.
      ['securityOverview', {}], ['securityNotices', {}], ['changePassword', { currentPassword: 'not the password', newPassword: 'another long password' }],
      ['regenerateRecoveryCodes', { password: 'not the password' }],
      // The admin part (refused here: a dispatcher holds neither permission; security-admin.test.ts has the admin's answers).
      ['locationSecurity', { locationId: A }], ['decideUserSignIn', { locationId: A, id: 'r1', approve: false }],
      // Refused while signed in; the key sign-in's own answers are ConsoleStates (security-key-sign-in.e2e.test.ts).
      ['signInWithSecurityKey', { username: user.username, password: user.password }],
      ['lock', {}], ['unlock', { password: user.password }],
    ] as const) {
      answers.push(await dispatcher.dispatch(name, appSender, args));
    }
    const overview = await dispatcher.dispatch('securityOverview', appSender, {});
    expect(overview).toMatchObject({ ok: true, value: { sessions: [{ current: true }] } });
    answers.push(overview);
    const profileId = i.profileIds()[0]!;
    const secrets = [
      await i.vault.getRefreshToken(profileId), (await i.vault.getKey(profileId, 'current'))?.toHexForKeychain(),
      (await i.verifiers.get(profileId))?.hash, user.password, user.totpSecret,
    ];
    const crossed = JSON.stringify([answers, events]);
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      expect(crossed).not.toContain(secret);
    }
  });

  it('the first sign-in with the server unreachable shows its screen and leaves no profile behind', async () => {
    const i = install();
    const service = console_(i, {}, 'http://127.0.0.1:9');
    const state = await service.signIn({ username: 'dora', password: 'a long enough password' });
    expect(state).toMatchObject({ screen: 'error', problem: 'server_unreachable', canStartOver: false });
    expect(i.files()).toEqual([]);
    expect((await service.backToSignIn()).screen).toBe('sign_in');
  });

  it('a revoked session lands on the wiped screen with the database, its key and the unlock verifier gone', async () => {
    const { service, i, user } = await signedIn('dispatcher');
    const profileId = i.profileIds()[0]!;
    const session = await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
    await revokeSession(server.ctx, { userId: null, label: 'test', deviceId: null, ip: null }, session.id, 'revoked_by_admin');
    await waitFor(() => service.state.screen === 'wiped', 'the wiped screen');
    expect(service.state).toEqual({ screen: 'wiped', reason: 'revoked', complete: true });
    expect(i.files()).toEqual([]);
    expect(await i.vault.getKey(profileId, 'current')).toBeNull();
    await waitFor(async () => (await i.verifiers.get(profileId)) === null, 'the verifier to go');
    await expect(service.data.listLocations()).rejects.toMatchObject({ code: 'not_signed_in' });
  });

  it('an unreadable database shows its screen; starting over sets the file aside and signs in afresh', async () => {
    const i = install();
    const user = await buildUser(server.ctx, { role: 'driver', locationIds: [A] });
    const first = console_(i);
    expect((await first.signIn(credentials(user))).screen).toBe('console');
    await first.dispose();
    const file = path.join(i.profilesDir, `${i.profileIds()[0]!}.db`);
    const size = fs.statSync(file).size;
    fs.writeFileSync(file, Buffer.alloc(size, 0x5a));

    const second = console_(i);
    const state = await second.signIn(credentials(user));
    expect(state).toMatchObject({ screen: 'error', problem: 'database_unavailable', canStartOver: true });
    expect((await second.startOver()).screen).toBe('sign_in');
    expect(i.files().some((f) => f.includes('.unreadable-'))).toBe(true);
    expect((await second.signIn(credentials(user))).screen).toBe('console');
  });

  it('without a keychain there is an error screen and no database, never a plaintext fallback', async () => {
    const i = install();
    const failing = {
      getPassword: () => Promise.reject(new Error('Cannot autolaunch D-Bus without X11 $DISPLAY')),
      setPassword: () => Promise.reject(new Error('Cannot autolaunch D-Bus without X11 $DISPLAY')),
      deletePassword: () => Promise.reject(new Error('Cannot autolaunch D-Bus without X11 $DISPLAY')),
    };
    const service = console_(i, { vault: new KeytarVault({ service: i.service, keytar: failing }) });
    const state: ConsoleState = await service.signIn({ username: 'dora', password: 'a long enough password' });
    expect(state).toMatchObject({ screen: 'error', problem: 'keychain_unavailable', canStartOver: false });
    expect(i.files()).toEqual([]);
  });

  it('with a session kept on this computer, the password opens the console while the server is down', async () => {
    const restartable = await RestartableServer.start();
    cleanup.push(() => restartable.dispose());
    const X = (await buildLocation(restartable.ctx)).id;
    const user = await buildUser(restartable.ctx, { role: 'dispatcher', locationIds: [X] });
    const i = install();
    const first = console_(i, {}, restartable.url);
    expect((await first.signIn({ username: user.username, password: user.password })).screen).toBe('console');
    await waitFor(async () => (await first.data.listLocations()).length === 1, 'the depot to arrive');
    await first.dispose();
    await restartable.stop();

    const second = console_(i, {}, restartable.url);
    await expect(second.signIn({ username: user.username, password: 'wrong password' })).rejects.toMatchObject({ code: 'server_unreachable' });
    expect((await second.signIn({ username: user.username, password: user.password })).screen).toBe('console');
    expect((await second.data.listLocations()).map((l) => l.id)).toEqual([X]);
    expect((await second.syncStatus()).connection).toBe('offline');
  });

  it('a stop value the server could not verify shows as withheld to those who may see that field', async () => {
    // Someone with database access copies one stop's address ciphertext onto another stop.
    const [donor, victim] = [stops[0]!, stops[1]!];
    const original = await server.ctx.db.selectFrom('stops').select('address_enc').where('id', '=', victim.id).executeTakeFirstOrThrow();
    const moved = await server.ctx.db.selectFrom('stops').select('address_enc').where('id', '=', donor.id).executeTakeFirstOrThrow();
    await server.ctx.db.updateTable('stops').set({ address_enc: moved.address_enc }).where('id', '=', victim.id).execute();
    try {
      const { service } = await signedIn('dispatcher');
      const detail = await service.data.stopDetail({ stopId: victim.id });
      expect(detail.stop.withheld).toEqual(['address']);
      expect(detail.stop.address).toBeUndefined();
      expect(detail.stop.customerName).toBe(victim.customerName);
      expect((await service.data.stopDetail({ stopId: donor.id })).stop).toMatchObject({ address: donor.address });
      // Reporting never sees addresses, so it is not told one is withheld.
      const reporting = await signedIn('reporting');
      expect((await reporting.service.data.stopDetail({ stopId: victim.id })).stop.withheld).toBeUndefined();
    } finally {
      await server.ctx.db.updateTable('stops').set({ address_enc: original.address_enc }).where('id', '=', victim.id).execute();
    }
  });
});
