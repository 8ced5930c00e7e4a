import { SessionInfo, SessionTokens } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildLocation, buildUser, newDeviceId, restCall, signIn, testClock, type TestClock } from '../../test/factories';

const minute = 60_000;

describe.each(backends)('sessions and refresh tokens (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, {}, { now: clock.now });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const me = (token: string) => restCall(server.url, 'GET', '/me', { token });
  const refresh = (refreshToken: string, deviceId: string) => restCall(server.url, 'POST', '/auth/refresh', { body: { refreshToken, deviceId } });
  const errorCode = (r: { body: Record<string, unknown> | null }) => (r.body?.error as { code?: string } | undefined)?.code;

  async function session(role: 'finance' | 'reporting' | 'admin' = 'finance', locationIds?: string[]) {
    const user = await buildUser(server.ctx, { role, withTotp: role === 'admin', ...(locationIds ? { locationIds } : {}) });
    const deviceId = newDeviceId();
    const { tokens } = await signIn(server.url, server.ctx, user, { deviceId });
    return { user, deviceId, tokens };
  }

  it('rotates the refresh token on every use and never extends the session', async () => {
    const { deviceId, tokens } = await session();
    clock.advance(5 * minute);
    const r1 = await refresh(tokens.refreshToken, deviceId);
    expect(r1.status).toBe(200);
    const t1 = SessionTokens.parse(r1.body);
    expect(t1.sessionId).toBe(tokens.sessionId);
    expect(t1.refreshToken).not.toBe(tokens.refreshToken);
    expect(t1.accessToken).not.toBe(tokens.accessToken);
    expect(t1.sessionExpiresAt).toBe(tokens.sessionExpiresAt);
    expect(t1.accessExpiresAt).toBe(clock.now() + server.ctx.config.accessTokenTtlS * 1000);
    expect((await me(t1.accessToken)).status).toBe(200);
    // Only the hash is stored.
    const stored = await server.ctx.db.selectFrom('refresh_tokens').select('token_hash').where('session_id', '=', tokens.sessionId).execute();
    expect(stored).toHaveLength(2);
    expect(JSON.stringify(stored)).not.toContain(t1.refreshToken);
  });

  it('a reused refresh token revokes the whole session and is audited', async () => {
    const { deviceId, tokens } = await session();
    const t1 = SessionTokens.parse((await refresh(tokens.refreshToken, deviceId)).body);
    const reuse = await refresh(tokens.refreshToken, deviceId);
    expect(reuse.status).toBe(401);
    expect(errorCode(reuse)).toBe('refresh_reused');
    // Both the thief's and the owner's newest tokens are now dead.
    const after = await me(t1.accessToken);
    expect(after.status).toBe(401);
    expect(errorCode(after)).toBe('session_revoked');
    expect(errorCode(await refresh(t1.refreshToken, deviceId))).toBe('session_revoked');
    const row = await server.ctx.db.selectFrom('sessions').select(['revoked_at', 'revoke_reason']).where('id', '=', tokens.sessionId).executeTakeFirstOrThrow();
    expect(row.revoke_reason).toBe('refresh_reused');
    const audit = await server.ctx.db.selectFrom('audit_log').select(['outcome']).where('action', '=', 'session.refresh_reused').where('target_id', '=', tokens.sessionId).execute();
    expect(audit).toEqual([{ outcome: 'denied' }]);
  });

  it('of two concurrent refreshes with one token, at most one succeeds', async () => {
    const { deviceId, tokens } = await session();
    const results = await Promise.all([refresh(tokens.refreshToken, deviceId), refresh(tokens.refreshToken, deviceId)]);
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    expect(results.some((r) => errorCode(r) === 'refresh_reused')).toBe(true);
  });

  it('a refresh token is bound to its device', async () => {
    const { tokens } = await session();
    const stolen = await refresh(tokens.refreshToken, newDeviceId());
    expect(stolen.status).toBe(401);
    expect(errorCode(await me(tokens.accessToken))).toBe('session_revoked');
  });

  it('rejects unknown refresh tokens and malformed bodies', async () => {
    expect(errorCode(await refresh('A'.repeat(43), newDeviceId()))).toBe('unauthenticated');
    expect((await restCall(server.url, 'POST', '/auth/refresh', { body: { refreshToken: 'x' } })).status).toBe(400);
  });

  it('expires after the idle timeout; activity keeps it alive (written at most once a minute)', async () => {
    const idle = server.ctx.config.sessionIdleTimeoutS * 1000;
    const { deviceId, tokens } = await session();
    const lastSeen = async () => (await server.ctx.db.selectFrom('sessions').select('last_seen_at').where('id', '=', tokens.sessionId).executeTakeFirstOrThrow()).last_seen_at;
    const signedInAt = clock.now();

    clock.advance(30_000);
    expect((await me(tokens.accessToken)).status).toBe(200);
    expect(await lastSeen()).toBe(signedInAt); // under a minute: no write
    clock.advance(5 * minute);
    const fresh = SessionTokens.parse((await refresh(tokens.refreshToken, deviceId)).body);
    clock.advance(idle - minute);
    expect((await me(fresh.accessToken)).status).toBe(401); // the access token itself expired...
    const t2 = SessionTokens.parse((await refresh(fresh.refreshToken, deviceId)).body); // ...but the session is alive
    clock.advance(2 * minute);
    expect((await me(t2.accessToken)).status).toBe(200);
    expect(await lastSeen()).toBe(clock.now());

    clock.advance(idle);
    const gone = await me(t2.accessToken);
    expect(gone.status).toBe(401);
    expect(errorCode(await refresh(t2.refreshToken, deviceId))).toBe('session_expired');
  });

  it('refuses a still-valid access token once its session is idle', async () => {
    const { tokens } = await session();
    const idle = server.ctx.config.sessionIdleTimeoutS * 1000;
    await server.ctx.db.updateTable('sessions').set({ last_seen_at: clock.now() - idle }).where('id', '=', tokens.sessionId).execute();
    const res = await me(tokens.accessToken);
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('session_expired');
  });

  it('ends at the absolute lifetime however often it is refreshed', async () => {
    const { deviceId, tokens } = await session();
    let current = tokens;
    const step = 30 * minute;
    while (clock.now() + step < tokens.sessionExpiresAt) {
      clock.advance(step);
      const r = await refresh(current.refreshToken, deviceId);
      expect(r.status).toBe(200);
      current = SessionTokens.parse(r.body);
      expect(current.sessionExpiresAt).toBe(tokens.sessionExpiresAt);
    }
    clock.set(tokens.sessionExpiresAt);
    const late = await refresh(current.refreshToken, deviceId);
    expect(errorCode(late)).toBe('session_expired');
    expect(errorCode(await me(current.accessToken))).toBe('unauthenticated'); // access token expired too
  });

  it('lists the caller\u2019s own open sessions and lets them end one (ASVS 3.3.4)', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const a = (await signIn(server.url, server.ctx, user)).tokens;
    const b = (await signIn(server.url, server.ctx, user)).tokens;
    const other = await session();

    const listed = await restCall(server.url, 'GET', '/sessions', { token: a.accessToken });
    expect(listed.status).toBe(200);
    const sessions = z.object({ sessions: z.array(SessionInfo) }).parse(listed.body).sessions;
    expect(sessions.map((s) => s.id).sort()).toEqual([a.sessionId, b.sessionId].sort());
    expect(sessions.find((s) => s.id === a.sessionId)!.current).toBe(true);
    expect(sessions.find((s) => s.id === b.sessionId)).toMatchObject({ current: false, deviceName: 'test device', userId: user.id });

    expect((await restCall(server.url, 'DELETE', `/sessions/${b.sessionId}`, { token: a.accessToken })).status).toBe(204);
    expect(errorCode(await me(b.accessToken))).toBe('session_revoked');
    const again = z.object({ sessions: z.array(SessionInfo) }).parse((await restCall(server.url, 'GET', '/sessions', { token: a.accessToken })).body);
    expect(again.sessions.map((s) => s.id)).toEqual([a.sessionId]);

    // Someone else's session: same 404 as a session that does not exist, and audited.
    const foreign = await restCall(server.url, 'DELETE', `/sessions/${other.tokens.sessionId}`, { token: a.accessToken });
    const missing = await restCall(server.url, 'DELETE', '/sessions/no-such-session', { token: a.accessToken });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(missing.body);
    expect((await me(other.tokens.accessToken)).status).toBe(200);
    const denied = await server.ctx.db.selectFrom('audit_log').select('outcome').where('action', '=', 'session.revoke').where('target_id', '=', other.tokens.sessionId).execute();
    expect(denied).toEqual([{ outcome: 'denied' }]);
  });

  it('a holder of session.revokeAny (admin) can end the sessions of users at their locations', async () => {
    const depot = (await buildLocation(server.ctx)).id;
    const admin = await session('admin', [depot]);
    const victim = await session('reporting', [depot]);
    const res = await restCall(server.url, 'DELETE', `/sessions/${victim.tokens.sessionId}`, { token: admin.tokens.accessToken });
    expect(res.status).toBe(204);
    expect(errorCode(await me(victim.tokens.accessToken))).toBe('session_revoked');
    const row = await server.ctx.db.selectFrom('sessions').select('revoke_reason').where('id', '=', victim.tokens.sessionId).executeTakeFirstOrThrow();
    expect(row.revoke_reason).toBe('revoked_by_admin');
  });

  it('sign-out revokes the session and its refresh token', async () => {
    const { deviceId, tokens } = await session();
    expect((await restCall(server.url, 'POST', '/auth/logout', { token: tokens.accessToken })).status).toBe(204);
    expect(errorCode(await me(tokens.accessToken))).toBe('session_revoked');
    expect(errorCode(await refresh(tokens.refreshToken, deviceId))).toBe('session_revoked');
    expect((await restCall(server.url, 'POST', '/auth/logout', {})).status).toBe(401);
  });
});
