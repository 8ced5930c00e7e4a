import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config';
import { operator, readPath, registerIntegration } from '../../test/credential-fixtures';
import { buildLocation, restCall } from '../../test/factories';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { applyApiKeyCreate } from '../integrations/api-keys';
import { applyOAuthClientCreate } from '../integrations/oauth-clients';

/**
 * The budgets of the integration API that only the holder of a secret can spend, against a real
 * server, with the in-memory store and with the real Redis the test script starts
 * (DEPOTLINE_TEST_REDIS_URL): knowing an OAuth client id (not a secret) does not lock the client
 * out of the token endpoint, and minting more access tokens buys a client no more calls.
 */

const limits = { address: 1000, userToken: 1000, integrationCredential: 6, oauthClient: 3 };
const redisUrl = process.env.DEPOTLINE_TEST_REDIS_URL;
const stores = redisUrl ? (['memory', 'redis'] as const) : (['memory'] as const);
const cases = backends.flatMap((backend) => stores.map((store) => [backend, store] as const));

function parseRateLimitField(value: string | null): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const item of (value ?? '').split(', ').filter(Boolean)) {
    const [name, ...params] = item.split(';');
    out[JSON.parse(name!) as string] = Object.fromEntries(params.map((p) => [p.split('=')[0]!, Number(p.split('=')[1])]));
  }
  return out;
}

describe.each(cases)('integration budgets spent only with a verified secret (%s, %s store)', (backend, store) => {
  let server: TestServer;
  let location: string;
  let integrationId: string;
  let ipCounter = 0;
  const freshIp = () => `198.51.100.${++ipCounter}`;

  beforeAll(async () => {
    const rateLimits = loadConfig(store === 'redis'
      ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `test-${crypto.randomBytes(6).toString('hex')}:` }
      : {}).rateLimits;
    server = await startTestServer(backend, { trustProxyHops: 1, rateLimits: { ...rateLimits, perMinute: limits } });
    location = (await buildLocation(server.ctx)).id;
    integrationId = await registerIntegration(server.ctx, `shop-${crypto.randomBytes(4).toString('hex')}`, [{ locationId: location, permissions: ['orders.read'] }]);
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });

  const create = { name: 'partner backend', scopes: ['orders.read' as const], expiresAt: 0 };
  async function makeClient(): Promise<{ id: string; secret: string }> {
    const now = server.ctx.now();
    const made = await server.ctx.db.transaction().execute((trx) =>
      applyOAuthClientCreate(trx, server.ctx.config, operator, integrationId, { ...create, expiresAt: now + 30 * 86_400_000 }, now));
    return { id: made.client.id, secret: made.clientSecret };
  }
  const tokenRequest = (client: { id: string; secret: string }, ip: string) =>
    fetch(`${server.url}/api/v1/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }).toString(),
    });

  it('whoever knows a client id but not its secret cannot lock the client out, not even from the client\u2019s own network', async () => {
    const victim = await makeClient();
    const attacker = freshIp();
    const refused: number[] = [];
    for (let i = 0; i < limits.oauthClient * 3; i++) refused.push((await tokenRequest({ id: victim.id, secret: 'wrong' }, attacker)).status);
    expect(refused.slice(0, limits.oauthClient)).toEqual(Array<number>(limits.oauthClient).fill(401));
    expect(refused.slice(limits.oauthClient).every((s) => s === 429)).toBe(true);

    // The real client, from the attacker's very network: its budget there is spent, yet the right secret gets its token.
    const sameNetwork = await tokenRequest(victim, attacker);
    expect(sameNetwork.status).toBe(200);
    expect(parseRateLimitField(sameNetwork.headers.get('ratelimit'))['per-client-address']!.r).toBe(0);
    const legit = await tokenRequest(victim, freshIp());
    expect(legit.status).toBe(200);
    const policy = parseRateLimitField(legit.headers.get('ratelimit-policy'));
    expect(policy).toEqual({
      'per-client-address': { q: limits.oauthClient, w: 60 }, 'per-address': { q: limits.address, w: 60 }, 'per-client': { q: limits.oauthClient, w: 60 },
    });
    // The client-wide budget shows the attacker's refusals did not touch it.
    expect(parseRateLimitField(legit.headers.get('ratelimit'))['per-client']!.r).toBe(limits.oauthClient - 2);
    // And the attacker's wrong secrets from that network are still refused by the budget.
    expect((await tokenRequest({ id: victim.id, secret: 'wrong' }, attacker)).status).toBe(429);
  });

  it('the client-wide budget of the token endpoint is spent by issued tokens only, from any address', async () => {
    const client = await makeClient();
    const statuses: number[] = [];
    let last: Response | null = null;
    for (let i = 0; i < limits.oauthClient + 1; i++) {
      last = await tokenRequest(client, freshIp());
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array<number>(limits.oauthClient).fill(200), 429]);
    const state = parseRateLimitField(last!.headers.get('ratelimit'));
    expect(state['per-client']!.r).toBe(0);
    expect(Number(last!.headers.get('retry-after'))).toBe(state['per-client']!.t);
    expect(((await last!.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
  });

  it('the access tokens of one OAuth client share one budget; an API key of the same integration keeps its own', async () => {
    const client = await makeClient();
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) tokens.push(((await (await tokenRequest(client, freshIp())).json()) as { access_token: string }).access_token);
    const call = (credential: string) => restCall(server.url, 'GET', readPath(location), { headers: { authorization: `Bearer ${credential}`, 'x-forwarded-for': freshIp() } });
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < limits.integrationCredential + 1; i++) {
      last = await call(tokens[i % 2]!);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array<number>(limits.integrationCredential).fill(200), 429]);
    const state = parseRateLimitField(last!.headers.get('ratelimit'));
    expect(state['per-integration-credential']!.r).toBe(0);
    expect(state['per-credential']!.r).toBeGreaterThan(0); // each token's own count is not what refused it
    // A fresh token of the same client is refused too: minting buys nothing.
    const minted = ((await (await tokenRequest(client, freshIp())).json()) as { access_token: string }).access_token;
    expect((await call(minted)).status).toBe(429);

    const now = server.ctx.now();
    const key = await server.ctx.db.transaction().execute((trx) =>
      applyApiKeyCreate(trx, server.ctx.config, operator, integrationId, { ...create, expiresAt: now + 30 * 86_400_000 }, now));
    const byKey = await call(key.secret);
    expect(byKey.status).toBe(200);
    expect(parseRateLimitField(byKey.headers.get('ratelimit'))['per-integration-credential']!.r).toBe(limits.integrationCredential - 1);
  });
});
