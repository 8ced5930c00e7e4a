import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildUser, restCall, signIn, testClock, type TestClock } from '../../test/factories';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const decodePart = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

describe.each(backends)('access tokens on REST (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;
  let token: string;
  let claims: Record<string, unknown>;
  let otherUserId: string;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, {}, { now: clock.now });
    const user = await buildUser(server.ctx, { role: 'finance' });
    token = (await signIn(server.url, server.ctx, user)).tokens.accessToken;
    claims = decodePart(token.split('.')[1]!);
    otherUserId = (await buildUser(server.ctx, { role: 'admin' })).id;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const getMe = (headers: Record<string, string>, query = '') =>
    fetch(`${server.url}/api/v1/me${query}`, { headers }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string } } }));

  it('accepts the token in the Authorization header', async () => {
    expect((await getMe({ authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('requires the Authorization header and ignores a token in the query string', async () => {
    const none = await getMe({});
    expect(none.status).toBe(401);
    expect(none.body.error?.code).toBe('unauthenticated');
    for (const q of [`?access_token=${token}`, `?token=${token}`, `?authorization=Bearer%20${token}`]) {
      expect((await getMe({}, q)).status).toBe(401);
    }
    expect((await getMe({ authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` })).status).toBe(401);
    expect((await getMe({ authorization: token })).status).toBe(401);
  });

  it('rejects a token signed with another key', async () => {
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(crypto.randomBytes(32));
    const res = await getMe({ authorization: `Bearer ${forged}` });
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('unauthenticated');
  });

  it('rejects an unsigned token (alg none)', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    expect((await getMe({ authorization: `Bearer ${unsigned}` })).status).toBe(401);
    const noSig = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}`;
    expect((await getMe({ authorization: `Bearer ${noSig}` })).status).toBe(401);
  });

  it('rejects a token whose payload was changed after signing', async () => {
    const [header, , signature] = token.split('.');
    const tampered = `${header}.${b64url({ ...claims, sub: otherUserId })}.${signature}`;
    expect((await getMe({ authorization: `Bearer ${tampered}` })).status).toBe(401);
    const longer = `${header}.${b64url({ ...claims, exp: (claims.exp as number) + 86_400 })}.${signature}`;
    expect((await getMe({ authorization: `Bearer ${longer}` })).status).toBe(401);
  });

  it('rejects a validly signed token for a session that belongs to someone else', async () => {
    // Even with the server's key (an insider), the session must match user and device.
    const crossed = await new SignJWT({ ...claims, sub: otherUserId }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(server.ctx.tokenKey);
    expect((await getMe({ authorization: `Bearer ${crossed}` })).status).toBe(401);
  });

  it('rejects an expired token', async () => {
    clock.advance(server.ctx.config.accessTokenTtlS * 1000 + 1000);
    const res = await getMe({ authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('unauthenticated');
  });

  it('answers every authenticated route the same way without a token', async () => {
    for (const [method, path] of [['GET', '/me'], ['GET', '/sessions'], ['DELETE', '/sessions/x'], ['POST', '/auth/logout'], ['POST', '/auth/mfa/enroll']] as const) {
      const res = await restCall(server.url, method, path);
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });
});
