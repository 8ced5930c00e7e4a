import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { revokeGrant } from '../../../../../sync-server/src/access/grants';
import { revokeSession } from '../../../../../sync-server/src/auth/sessions';
import { base32Decode, totp } from '../../../../../sync-server/src/auth/totp';
import { totpNow } from '../../../../../sync-server/test/factories';
import type { TestServer } from '../../../../../sync-server/test/harness';
import { DatabaseKeyMissingError, InsecureServerUrlError, ProfileMismatchError, ServerRequestError } from '../../errors';
import { openProfileStore, reenrollProfile } from '../../profile/profile-store';
import { requireTestKeyring, testVault } from '../../testing/keyring';
import { decryptDatabaseFile, decryptWalFile, findNeedles } from '../../testing/sqlcipher-pages';
import { makeTempDir, readDatabaseFiles } from '../../testing/temp-dir';
import type { SessionEndedEvent } from '../sync-events';
import { SyncClient } from '../sync-client';
import {
  buildLocation, buildUser, editNotesOf, Office, openCore, quietLog, startCore, startServer, waitFor, type Core,
} from './sync-fixture';

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

describe('sync client: sessions, grants and keys', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let tmp: ReturnType<typeof makeTempDir>;
  const cores: Core[] = [];
  let A: string;
  let B: string;
  let office: Office;

  beforeAll(async () => {
    server = await startServer({ accessTokenTtlS: 4 });
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
  const track = (c: Core) => {
    cores.push(c);
    return c;
  };

  it('session revoked: the database file, its sidecars and both keychain entries are deleted, and the app is told', async () => {
    const routeId = await office.createRoute(A);
    await office.createStops(A, routeId, 2);
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const c = track(await startCore(server.url, tmp.dir, user));
    const ended: SessionEndedEvent[] = [];
    c.client.on('sessionEnded', (e) => ended.push(e));
    expect(fs.existsSync(c.dbPath)).toBe(true);

    const session = await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    await revokeSession(server.ctx, operator.actor, session.id, 'revoked_by_admin');
    await waitFor(() => ended.length === 1, 'session:ended');

    expect(ended[0]).toMatchObject({ reason: 'revoked', wipe: true, wipeReport: { failures: [], keychainEntriesDeleted: 2 } });
    expect(c.client.status.connection).toBe('ended');
    expect(fs.readdirSync(tmp.dir)).toEqual([]);
    expect(await c.vault.getKey(c.profileId, 'current')).toBeNull();
    expect(await c.vault.getRefreshToken(c.profileId)).toBeNull();
    expect(c.store.closed).toBe(true);
  });

  it('session expired: the data and unsent edits stay, and signing in again carries on', async () => {
    const routeId = await office.createRoute(A);
    const [stop] = await office.createStops(A, routeId, 1);
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const c = track(await startCore(server.url, tmp.dir, user));
    const ended: SessionEndedEvent[] = [];
    c.client.on('sessionEnded', (e) => ended.push(e));
    await server.ctx.db.updateTable('sessions').set({ expires_at: server.ctx.now() - 1 }).where('user_id', '=', user.id).execute();
    server.io.disconnectSockets(true); // as when the access token runs out
    await waitFor(() => ended.length === 1, 'the session to end');
    expect(ended[0]).toMatchObject({ reason: 'expired', wipe: false, wipeReport: null });
    expect(await c.vault.getRefreshToken(c.profileId)).toBeNull();

    const m = editNotesOf(A, stop!.id, 'written while signed out');
    await c.client.edit(m);
    await c.client.signIn({ username: user.username, password: user.password });
    await c.client.start();
    await waitFor(async () => c.client.status.connection === 'live' && (await c.store.pendingCount()) === 0, 'the edit to go out');
    expect(await c.store.stop(stop!.id)).toMatchObject({ notes: 'written while signed out' });
  });

  it('grant revoked: the location is dropped and its customer data is gone from every page of the file', async () => {
    const routeA = await office.createRoute(A);
    const stopsA = await office.createStops(A, routeA, 6);
    const routeB = await office.createRoute(B);
    const stopsB = await office.createStops(B, routeB, 2);
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    await server.ctx.db.insertInto('grants').values({
      id: 'g-b-' + user.id, user_id: user.id, role: 'dispatcher', expires_at: null, created_at: server.ctx.now(), created_by: 'test', revoked_at: null, revoked_by: null,
    }).execute();
    await server.ctx.db.insertInto('grant_locations').values({ grant_id: 'g-b-' + user.id, location_id: B }).execute();
    const c = track(await startCore(server.url, tmp.dir, user));
    const dropped: string[] = [];
    c.client.on('locationDropped', (d) => dropped.push(`${d.locationId}:${d.reason}`));
    expect(await c.store.stop(stopsA[0]!.id)).not.toBeNull();

    await revokeGrant(server.ctx, operator, user.grantId!);
    await waitFor(() => dropped.length > 0, 'sync:dropLocation');
    expect(dropped).toEqual([`${A}:grant_revoked`]);
    expect(await c.store.boardQuery(A)).toEqual([]);
    expect((await c.store.locations()).map((l) => l.id)).toEqual([B]);

    const key = (await c.vault.getKey(c.profileId, 'current'))!;
    const pages = [...decryptDatabaseFile(c.dbPath, key), ...decryptWalFile(`${c.dbPath}-wal`, key)];
    const piiA = stopsA.flatMap((s) => [s.customerName, s.address, s.phone, s.notes]);
    expect(findNeedles(pages, piiA)).toEqual([]);
    expect(findNeedles(pages, [stopsB[0]!.customerName])).toEqual([stopsB[0]!.customerName]);
    expect(findNeedles(readDatabaseFiles(c.dbPath), [...piiA, stopsB[0]!.customerName])).toEqual([]);
  });

  it('renews the access token over the open socket, so it outlives the token it connected with', async () => {
    const routeId = await office.createRoute(A);
    const [stop] = await office.createStops(A, routeId, 1);
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const c = track(await startCore(server.url, tmp.dir, user, { client: { renewBeforeMs: 2_000 } }));
    const disconnects: string[] = [];
    c.client.on('status', (s) => { if (s.connection !== 'live' && s.connection !== 'syncing') disconnects.push(s.connection); });
    await new Promise((r) => setTimeout(r, 6_000)); // past the 4 s access token lifetime
    await c.client.edit(editNotesOf(A, stop!.id, 'after renewal'));
    await waitFor(async () => (await c.store.pendingCount()) === 0, 'the push after renewal');
    expect(disconnects).toEqual([]);
    expect(c.client.status.connection).toBe('live');
  }, 20_000);

  it('signing out ends the session on the server and deletes the refresh token; the data stays', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const c = track(await startCore(server.url, tmp.dir, user));
    const session = await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(await c.client.signOut()).toEqual({ serverSessionEnded: true });
    const row = await server.ctx.db.selectFrom('sessions').select(['revoked_at', 'revoke_reason']).where('id', '=', session.id).executeTakeFirstOrThrow();
    expect(row.revoked_at).not.toBeNull();
    expect(row.revoke_reason).toBe('logout');
    expect(await c.vault.getRefreshToken(c.profileId)).toBeNull();
    expect(c.client.status.connection).toBe('signed_out');
    expect(fs.existsSync(c.dbPath)).toBe(true);
  });

  it('resumes after a restart from the refresh token in the keychain, without the password', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const first = await startCore(server.url, tmp.dir, user);
    await first.client.dispose();
    await first.store.close();

    const store = await openProfileStore({ profileId: first.profileId, dbPath: first.dbPath, vault: first.vault });
    const client = new SyncClient({ serverUrl: server.url, profileId: first.profileId, dbPath: first.dbPath, store, vault: first.vault, log: quietLog([]) });
    track({ ...first, store, client });
    await client.start();
    await waitFor(() => client.status.connection === 'live', 'the resumed session');
  });

  it('a profile never mixes users: signing another user in is refused', async () => {
    const alice = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const bob = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const c = track(await startCore(server.url, tmp.dir, alice));
    await c.client.stop();
    await expect(c.client.signIn({ username: bob.username, password: bob.password })).rejects.toBeInstanceOf(ProfileMismatchError);
  });

  it('refuses plain http to anything but this machine', () => {
    const { vault } = testVault();
    const make = (serverUrl: string) => () => new SyncClient({ serverUrl, profileId: 'p', dbPath: '/nonexistent', store: null as never, vault });
    expect(make('http://depot.example.com')).toThrow(InsecureServerUrlError);
    expect(make('ftp://127.0.0.1')).toThrow(InsecureServerUrlError);
  });

  it('after the key is lost, re-enrolls: new key, empty database, full re-sync; the user is told how many unpushed edits were lost', async () => {
    const routeId = await office.createRoute(A);
    const stops = await office.createStops(A, routeId, 3);
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const c = await startCore(server.url, tmp.dir, user);
    await c.client.stop();
    await c.client.edit(editNotesOf(A, stops[0]!.id, 'never sent'));
    await c.client.dispose();
    await c.store.close();
    await c.vault.deleteKey(c.profileId, 'current'); // the keychain was reset
    await c.vault.deleteRefreshToken(c.profileId);

    await expect(openProfileStore({ profileId: c.profileId, dbPath: c.dbPath, vault: c.vault })).rejects.toBeInstanceOf(DatabaseKeyMissingError);
    const report = await reenrollProfile({ profileId: c.profileId, dbPath: c.dbPath, vault: c.vault });
    expect(report.lostEdits).toBe(1);
    const client = new SyncClient({ serverUrl: server.url, profileId: c.profileId, dbPath: c.dbPath, store: report.store, vault: c.vault, log: quietLog([]) });
    track({ ...c, store: report.store, client });
    await client.signIn({ username: user.username, password: user.password });
    await client.start();
    await waitFor(() => client.status.connection === 'live', 're-sync');
    expect(await report.store.stop(stops[2]!.id)).toMatchObject({ customerName: stops[2]!.customerName });
    expect(await report.store.stop(stops[0]!.id)).toMatchObject({ notes: stops[0]!.notes });
  });

  it('a malformed or foreign server message is refused with a logged reason and leaves the store as it was', async () => {
    const routeId = await office.createRoute(A);
    const [stop] = await office.createStops(A, routeId, 1);
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const c = track(await startCore(server.url, tmp.dir, user));
    const refused: string[] = [];
    c.client.on('protocolError', (e) => refused.push(e.event));
    const before = await c.store.stop(stop!.id);
    server.io.emit('sync:change', { entity: 'stop', locationId: A, version: 999, data: { id: stop!.id, notes: 42 } });
    server.io.emit('sync:change', { entity: 'stop', locationId: 'depot-elsewhere', version: 999, data: { ...before!, locationId: 'depot-elsewhere', notes: 'moved' } });
    server.io.emit('session:ended', { reason: 'revoked', wipe: 'yes' });
    await waitFor(() => refused.length === 3, 'three refusals');
    // The foreign change makes the client re-check its locations; it then carries on.
    await waitFor(() => c.client.status.connection === 'live', 'live again');
    expect(await c.store.stop(stop!.id)).toEqual(before);
    expect(c.warnings.join('\n')).toMatch(/refused a server message/);
    expect(fs.existsSync(c.dbPath)).toBe(true);
  });
});

describe('sync client: sign-in with a second factor', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let tmp: ReturnType<typeof makeTempDir>;

  beforeAll(async () => {
    server = await startServer({ mfaRequiredRoles: new Set(['dispatcher']) });
    tmp = makeTempDir();
  });
  afterAll(async () => {
    await server.dispose();
    tmp.remove();
  });

  it('asks for the code when the user has an authenticator, and signs in with it', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher', withTotp: true });
    const c = await openCore(server.url, tmp.dir, user, { signIn: false });
    try {
      const err = await c.client.signIn({ username: user.username, password: user.password }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServerRequestError);
      expect(err).toMatchObject({ code: 'mfa_required' });
      const ok = await c.client.signIn({ username: user.username, password: user.password, totp: totpNow(server.ctx, user) });
      expect(ok).toMatchObject({ status: 'ok', me: { user: { id: user.id } } });
    } finally {
      await c.dispose();
    }
  });

  it('walks a user without an authenticator through enrollment', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher' });
    const c = await openCore(server.url, tmp.dir, user, { signIn: false });
    try {
      const first = await c.client.signIn({ username: user.username, password: user.password });
      if (first.status !== 'mfa_enrollment_required') throw new Error('expected an enrollment');
      const code = totp(base32Decode(first.enrollment.secretBase32), server.ctx.now());
      const done = await c.client.confirmMfaEnrollment({ enrollmentToken: first.enrollment.enrollmentToken, code });
      expect(done).toMatchObject({ status: 'ok' });
      await c.client.start();
      await waitFor(() => c.client.status.connection === 'live', 'live after enrollment');
    } finally {
      await c.dispose();
    }
  });
});
