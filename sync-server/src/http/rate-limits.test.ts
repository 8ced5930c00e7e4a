import crypto from 'node:crypto';
import net from 'node:net';
import { ErrorBody } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config';
import { buildUser, restCall, signIn } from '../../test/factories';
import { backends, startTestServer, type TestServer } from '../../test/harness';

/**
 * Rate limits on the REST API, in-memory store, against a real server: what a client (or an
 * attacker spraying requests) sees. The server trusts one proxy hop so each test comes from its
 * own address; a test that means the socket address sends no X-Forwarded-For.
 */

const limits = { address: 12, userToken: 4, integrationCredential: 6, oauthClient: 3 };

/** `"name";a=1;b=2, "other";...` (RFC 9651 list of strings with integer parameters) as objects. */
function parseRateLimitField(value: string | null): Record<string, Record<string, number>> {
  expect(value).toMatch(/^"[a-z-]+"(;[a-z]+=\d+)+(, "[a-z-]+"(;[a-z]+=\d+)+)*$/);
  const out: Record<string, Record<string, number>> = {};
  for (const item of value!.split(', ')) {
    const [name, ...params] = item.split(';');
    out[JSON.parse(name!) as string] = Object.fromEntries(params.map((p) => [p.split('=')[0]!, Number(p.split('=')[1])]));
  }
  return out;
}

const randomToken = (kind: 'user' | 'integration') =>
  kind === 'user'
    ? `eyJhbGciOiJIUzI1NiJ9.${crypto.randomBytes(24).toString('base64url')}.${crypto.randomBytes(32).toString('base64url')}`
    : `dlk_${crypto.randomBytes(12).toString('hex')}_${crypto.randomBytes(24).toString('hex')}`;

describe.each(backends)('REST rate limits, in memory (%s)', (backend) => {
  let server: TestServer;
  let ipCounter = 0;
  const freshIp = () => `203.0.113.${++ipCounter}`;
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  beforeAll(async () => {
    server = await startTestServer(backend, { trustProxyHops: 1, rateLimits: { ...loadConfig({}).rateLimits, perMinute: limits } });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('answers with RateLimit-Policy and RateLimit on every route under /api/v1, also successes and unknown routes; /healthz is not counted', async () => {
    const ip = freshIp();
    const user = await buildUser(server.ctx, { role: 'finance' });
    const session = await signIn(server.url, server.ctx, user, { headers: from(ip) });
    const me = await restCall(server.url, 'GET', '/me', { token: session.tokens.accessToken, headers: from(ip) });
    expect(me.status).toBe(200);
    expect(parseRateLimitField(me.headers.get('ratelimit-policy'))).toEqual({ 'per-credential': { q: 4, w: 60 }, 'per-address': { q: 12, w: 60 } });
    const state = parseRateLimitField(me.headers.get('ratelimit'));
    expect(state['per-credential']!.r).toBe(3);
    expect(state['per-address']!.r).toBe(10); // the sign-in counted too
    for (const s of Object.values(state)) {
      expect(s.t).toBeGreaterThanOrEqual(1);
      expect(s.t).toBeLessThanOrEqual(60);
    }
    expect(me.headers.get('retry-after')).toBeNull();

    const unknown = await restCall(server.url, 'GET', '/no-such-route', { headers: from(ip) });
    expect(unknown.status).toBe(404);
    expect(parseRateLimitField(unknown.headers.get('ratelimit'))).toEqual({ 'per-address': { r: 9, t: expect.any(Number) as number } });

    for (let i = 0; i < 20; i++) expect((await fetch(`${server.url}/healthz`, { headers: from(ip) })).status).toBe(200);
    const health = await fetch(`${server.url}/healthz`, { headers: from(ip) });
    expect(health.headers.get('ratelimit')).toBeNull();
    expect(parseRateLimitField((await restCall(server.url, 'GET', '/no-such-route', { headers: from(ip) })).headers.get('ratelimit'))['per-address']!.r).toBe(8);
  });

  it('refuses the request past an address budget with 429, Retry-After and the project error body', async () => {
    const ip = freshIp();
    for (let i = 0; i < limits.address; i++) expect((await restCall(server.url, 'GET', '/me', { headers: from(ip) })).status).toBe(401);
    const refused = await restCall(server.url, 'GET', '/me', { headers: from(ip) });
    expect(refused.status).toBe(429);
    const body = ErrorBody.parse(refused.body);
    expect(body.error.code).toBe('rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(body.error.retryAfterS).toBe(retryAfter);
    // The RateLimit field agrees: nothing left, and the same wait.
    expect(parseRateLimitField(refused.headers.get('ratelimit'))).toEqual({ 'per-address': { r: 0, t: retryAfter } });
    // Refused everywhere under /api/v1 from that address, sign-in included; other addresses are untouched.
    expect((await restCall(server.url, 'POST', '/auth/login', { body: {}, headers: from(ip) })).status).toBe(429);
    expect((await restCall(server.url, 'GET', '/me', { headers: from(freshIp()) })).status).toBe(401);
  });

  it('counts each credential on its own, user tokens and integration credentials at their own budgets, forged ones included', async () => {
    const ip = freshIp();
    const userToken = randomToken('user');
    for (let i = 0; i < limits.userToken; i++) expect((await restCall(server.url, 'GET', '/me', { token: userToken, headers: from(ip) })).status).toBe(401);
    const refused = await restCall(server.url, 'GET', '/me', { token: userToken, headers: from(ip) });
    expect(refused.status).toBe(429);
    const state = parseRateLimitField(refused.headers.get('ratelimit'));
    expect(state['per-credential']!.r).toBe(0);
    expect(state['per-address']!.r).toBeGreaterThan(0); // the address still has budget: the credential's is spent
    expect(Number(refused.headers.get('retry-after'))).toBe(state['per-credential']!.t);

    // Another token from the same address, and no token at all, still pass.
    const other = await restCall(server.url, 'GET', '/me', { token: randomToken('user'), headers: from(ip) });
    expect(other.status).toBe(401);
    expect(parseRateLimitField(other.headers.get('ratelimit'))['per-credential']!.r).toBe(limits.userToken - 1);
    // An integration credential has its own budget size.
    const machine = await restCall(server.url, 'GET', '/me', { token: randomToken('integration'), headers: from(freshIp()) });
    expect(parseRateLimitField(machine.headers.get('ratelimit-policy'))['per-credential']).toEqual({ q: limits.integrationCredential, w: 60 });
    // The spent token is refused from a fresh address too: the budget follows the credential.
    expect((await restCall(server.url, 'GET', '/me', { token: userToken, headers: from(freshIp()) })).status).toBe(429);
  });

  it('a real session is limited per token like any other credential', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const session = await signIn(server.url, server.ctx, user, { headers: from(freshIp()) });
    const token = session.tokens.accessToken;
    const statuses: number[] = [];
    for (let i = 0; i < limits.userToken + 1; i++) statuses.push((await restCall(server.url, 'GET', '/me', { token, headers: from(freshIp()) })).status);
    expect(statuses).toEqual([...Array<number>(limits.userToken).fill(200), 429]);
  });

  it('counts the OAuth token endpoint per client id and address, from HTTP Basic or the form alike, before the secret is checked', async () => {
    const clientId = `dlc_${crypto.randomBytes(8).toString('hex')}`;
    const ip = freshIp();
    const basic = `Basic ${Buffer.from(`${clientId}:wrong-secret`).toString('base64')}`;
    const tokenRequest = (headers: Record<string, string>, form: Record<string, string>) =>
      fetch(`${server.url}/api/v1/oauth/token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString(),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) statuses.push((await tokenRequest({ authorization: basic, ...from(ip) }, { grant_type: 'client_credentials' })).status);
    // client_secret_post with the same id from the same address spends the same budget.
    const third = await tokenRequest(from(ip), { grant_type: 'client_credentials', client_id: clientId, client_secret: 'wrong' });
    expect(parseRateLimitField(third.headers.get('ratelimit-policy'))).toEqual({ 'per-client-address': { q: limits.oauthClient, w: 60 }, 'per-address': { q: limits.address, w: 60 } });
    statuses.push(third.status);
    const fourth = await tokenRequest({ authorization: basic, ...from(ip) }, { grant_type: 'client_credentials' });
    expect(statuses.every((s) => s !== 429)).toBe(true);
    expect(fourth.status).toBe(429);
    expect(((await fourth.json()) as ErrorBody).error.code).toBe('rate_limited');
    // Another client id from that address, and the same id from another address, are not affected
    // (the client-wide budget is charged only once the secret is verified: integration-rate-limits.test.ts).
    const otherBasic = `Basic ${Buffer.from(`dlc_${crypto.randomBytes(8).toString('hex')}:x`).toString('base64')}`;
    expect((await tokenRequest({ authorization: otherBasic, ...from(ip) }, { grant_type: 'client_credentials' })).status).not.toBe(429);
    expect((await tokenRequest({ authorization: basic, ...from(freshIp()) }, { grant_type: 'client_credentials' })).status).not.toBe(429);
  });
});

describe('REST rate limits and the client address', () => {
  let server: TestServer | null = null;
  afterAll(async () => {
    await server?.dispose();
  });

  it('without a trusted proxy, a forged X-Forwarded-For does not buy a fresh budget', async () => {
    server = await startTestServer('sqlite', { trustProxyHops: 0, rateLimits: { ...loadConfig({}).rateLimits, perMinute: { ...limits, address: 3 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await restCall(server.url, 'GET', '/me', { headers: { 'x-forwarded-for': `198.51.100.${i}` } })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe.each(backends)('REST rate limits with Redis configured but unreachable (%s)', (backend) => {
  let server: TestServer | null = null;
  afterAll(async () => {
    await server?.dispose();
  });

  it('keeps serving the API, counted per process, and refuses sign-in with 503 and Retry-After', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as net.AddressInfo;
        s.close(() => resolve(p));
      });
    });
    const settings = loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_PER_ADDRESS_PER_MIN: '3' }).rateLimits;
    server = await startTestServer(backend, { rateLimits: settings });
    const user = await buildUser(server.ctx, { role: 'finance' });

    const login = await restCall(server.url, 'POST', '/auth/login', { body: { username: user.username, password: user.password, deviceId: `dev-${crypto.randomBytes(8).toString('hex')}` } });
    expect(login.status).toBe(503);
    expect(ErrorBody.parse(login.body).error.code).toBe('unavailable');
    expect(Number(login.headers.get('retry-after'))).toBeGreaterThan(0);
    // The API answers, with its headers, and its limit still holds in this process.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await restCall(server.url, 'GET', '/me')).status);
    expect(statuses).toEqual([401, 401, 429]);
  });
});
