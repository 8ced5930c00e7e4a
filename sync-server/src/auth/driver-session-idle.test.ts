import type { SessionEnded, SessionTokens } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrant } from '../access/grants';
import { loadConfig } from '../config';
import { backends } from '../../test/harness';
import { testClock, type TestClock } from '../../test/factories';
import { buildWorld, connectSocket, emitAck, insertUser, rest, type World } from '../../test/world';
import { createSession, refreshSession } from './sessions';

describe('driver device settings', () => {
  it('default to an hour’s grace and 15 minutes idle, and refuse values out of range naming the setting', () => {
    expect(loadConfig({}).driverDevices).toEqual({ accessGraceMin: 60, sessionIdleS: 900 });
    expect(loadConfig({ DEPOTLINE_DRIVER_ACCESS_GRACE_MIN: '0' }).driverDevices.accessGraceMin).toBe(0);
    expect(() => loadConfig({ DEPOTLINE_DRIVER_ACCESS_GRACE_MIN: '1441' })).toThrow(/DEPOTLINE_DRIVER_ACCESS_GRACE_MIN/);
    expect(() => loadConfig({ DEPOTLINE_DRIVER_ACCESS_GRACE_MIN: 'soon' })).toThrow(/DEPOTLINE_DRIVER_ACCESS_GRACE_MIN/);
    expect(() => loadConfig({ DEPOTLINE_DRIVER_SESSION_IDLE_S: '0' })).toThrow(/DEPOTLINE_DRIVER_SESSION_IDLE_S/);
    expect(() => loadConfig({ DEPOTLINE_DRIVER_SESSION_IDLE_S: '86400' })).toThrow(/DEPOTLINE_DRIVER_SESSION_IDLE_S/);
  });
});

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

/**
 * A session of a user whose grants are only the driver role has the shorter driver idle limit
 * (a shared or lost phone signs itself out); anyone else keeps the server-wide one. Real
 * sockets, the server's test clock.
 */
describe.each(backends)('driver session idle limit (%s)', (backend) => {
  let w: World;
  let clock: TestClock;
  const driverIdleS = 120;

  beforeAll(async () => {
    w = await buildWorld(backend, 1);
    clock = testClock();
    w.ctx.now = clock.now;
    w.ctx.config = { ...w.ctx.config, driverDevices: { ...w.ctx.config.driverDevices, sessionIdleS: driverIdleS } };
  });
  afterAll(async () => {
    await w?.dispose();
  });

  const signIn = (userId: string, deviceId: string): Promise<SessionTokens> =>
    w.ctx.db.transaction().execute((trx) => createSession(w.ctx, trx, userId, { deviceId, deviceName: 'phone', ip: '127.0.0.1' }));
  const idleOf = async (sessionId: string) =>
    (await w.ctx.db.selectFrom('sessions').select('idle_timeout_s').where('id', '=', sessionId).executeTakeFirstOrThrow()).idle_timeout_s;

  it('ends an idle driver session on its socket and at refresh, while a dispatcher idle as long stays signed in', async () => {
    const driver = await signIn(w.users.driver.id, 'driver-phone');
    const dispatcher = await signIn(w.users.dispatcher.id, 'depot-desktop');
    expect(await idleOf(driver.sessionId)).toBe(driverIdleS);
    expect(await idleOf(dispatcher.sessionId)).toBeNull();

    const driverSocket = await connectSocket(w.server.url, driver.accessToken);
    const dispatcherSocket = await connectSocket(w.server.url, dispatcher.accessToken);
    const ended: SessionEnded[] = [];
    driverSocket.on('session:ended', (e: SessionEnded) => ended.push(e));
    dispatcherSocket.on('session:ended', (e: SessionEnded) => ended.push(e));

    clock.advance(driverIdleS * 1000 + 1000);
    await expect.poll(() => ended, { timeout: 15_000 }).toEqual([{ reason: 'expired', wipe: false }]);
    await expect.poll(() => driverSocket.connected, { timeout: 15_000 }).toBe(false);
    // The dispatcher, idle exactly as long, still works.
    const pulled = await emitAck<{ ok: boolean }>(dispatcherSocket, 'sync:pull', { locationId: w.A, after: 0 });
    expect(pulled.ok).toBe(true);
    expect(dispatcherSocket.connected).toBe(true);

    await expect(refreshSession(w.ctx, { refreshToken: driver.refreshToken, deviceId: 'driver-phone' }, null)).rejects.toMatchObject({ code: 'session_expired' });
    const r = await rest(w, 'GET', '/sessions', driver.accessToken);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: { code: 'session_expired' } });
    expect((await refreshSession(w.ctx, { refreshToken: dispatcher.refreshToken, deviceId: 'depot-desktop' }, null)).sessionId).toBe(dispatcher.sessionId);
    dispatcherSocket.close();
    driverSocket.close();
  });

  it('follows the user\u2019s grants at each refresh: a driver given another role gets the server-wide limit', async () => {
    const id = await insertUser(w.ctx, 'dual-driver');
    await createGrant(w.ctx, operator, { userId: id, role: 'driver', locationIds: [w.A] });
    const first = await signIn(id, 'dual-phone');
    expect(await idleOf(first.sessionId)).toBe(driverIdleS);
    await createGrant(w.ctx, operator, { userId: id, role: 'dispatcher', locationIds: [w.A] });
    const next = await refreshSession(w.ctx, { refreshToken: first.refreshToken, deviceId: 'dual-phone' }, null);
    expect(await idleOf(next.sessionId)).toBeNull();
    // The driver limit is never longer than the server-wide one.
    const saved = w.ctx.config;
    w.ctx.config = { ...saved, sessionIdleTimeoutS: 90, driverDevices: { ...saved.driverDevices, sessionIdleS: 600 } };
    try {
      expect(await idleOf((await signIn(w.users.driver.id, 'second-phone')).sessionId)).toBe(90);
    } finally {
      w.ctx.config = saved;
    }
    // A user with no grant at all is not a driver: the server-wide limit.
    const nobody = await signIn(await insertUser(w.ctx, 'no-grants'), 'spare-phone');
    expect(await idleOf(nobody.sessionId)).toBeNull();
  });
});
