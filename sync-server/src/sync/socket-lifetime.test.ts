import type { PullResponse } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAccessToken } from '../auth/access-tokens';
import { backends } from '../../test/harness';
import { buildWorld, connectSocket, emitAck, sleep, type World } from '../../test/world';

/**
 * `promise`, or a failure naming what did not happen once `ms` have passed: generous for a
 * loaded machine, and a missing event reads as that instead of as the test's timeout.
 */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** An open socket must not outlive its token or its session (io.use runs only at connect). */
describe.each(backends)('socket lifetime (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 1);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('disconnects when the access token expires, and auth:renew keeps it open', async () => {
    const u = w.users.dispatcher;
    const session = await w.ctx.db.selectFrom('sessions').select(['device_id', 'expires_at']).where('id', '=', u.sessionId).executeTakeFirstOrThrow();
    // Three seconds: long enough to connect and renew on a loaded machine, short enough to wait out.
    const shortCtx = { ...w.ctx, config: { ...w.ctx.config, accessTokenTtlS: 3 } };
    const short = await issueAccessToken(shortCtx, { userId: u.id, sessionId: u.sessionId, deviceId: session.device_id, sessionEndsAt: session.expires_at });
    const renewed = await connectSocket(w.server.url, short.token);
    const plain = await connectSocket(w.server.url, (await issueAccessToken(shortCtx, { userId: u.id, sessionId: u.sessionId, deviceId: session.device_id, sessionEndsAt: session.expires_at })).token);
    const plainClosed = new Promise<void>((r) => plain.on('disconnect', () => r()));
    const fresh = await issueAccessToken(w.ctx, { userId: u.id, sessionId: u.sessionId, deviceId: session.device_id, sessionEndsAt: session.expires_at });
    const res = await emitAck<{ ok: boolean; data: { expiresAt: number } }>(renewed, 'auth:renew', { accessToken: fresh.token });
    expect(res.ok).toBe(true);
    expect(res.data.expiresAt).toBe(fresh.expiresAt);
    await within(plainClosed, 15_000, 'the disconnect of the socket whose token expired');
    // Deliberately past the first token's expiry (plain's, issued later, is no earlier, so this
    // is at most a few ms): an un-renewed socket's drop is then due before the server reads the
    // pull below, and a socket gets its disconnect before any later answer.
    await sleep(Math.max(0, short.expiresAt - Date.now()));
    const pulled = await emitAck<{ ok: boolean; data: PullResponse }>(renewed, 'sync:pull', { locationId: w.A, after: 0 })
      .catch((err: unknown) => ({ ok: false, error: String(err) }));
    expect(renewed.connected).toBe(true);
    expect(pulled.ok).toBe(true);
    // A token of another session cannot be swapped in.
    const other = await emitAck(renewed, 'auth:renew', { accessToken: w.users.manager.token });
    expect(other).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    renewed.close();
  });

  it('an idle session stops working on open sockets too', async () => {
    const u = w.users.manager;
    const s = await connectSocket(w.server.url, u.token);
    const closed = new Promise<void>((r) => s.on('disconnect', () => r()));
    await w.ctx.db.updateTable('sessions').set({ last_seen_at: Date.now() - 2 * 3600_000 }).where('id', '=', u.sessionId).execute();
    // Deliberately past the per-socket session re-check interval (1 s, socket-server.ts): until
    // then the server does not re-read the session row, so there is no outcome to wait for.
    await sleep(1100);
    const res = await emitAck(s, 'sync:pull', { locationId: w.A, after: 0 });
    expect(res).toMatchObject({ ok: false, error: { code: 'session_expired' } });
    await within(closed, 10_000, 'the disconnect of the socket whose session went idle');
  });
});
