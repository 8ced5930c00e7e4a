import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, type CredentialWorld, credentialWorld, dayMs, readPath, registerIntegration, suspendIntegration } from '../../test/credential-fixtures';
import { refusalDigestWindowMs } from '../audit/refusal-digest';
import { backends } from '../../test/harness';
import { randomBase62 } from './credential-format';

/**
 * OAuth 2.0 client credentials (RFC 6749 section 4.4) through a real client library
 * (openid-client, with both client authentication methods), and by hand for the error forms a
 * library never sends: tokens are narrowed to the scopes asked, bound to their integration,
 * short-lived, and die with their client or a suspension; an unknown client and a wrong secret
 * are told apart by nobody.
 */
describe.each(backends)('OAuth client credentials (%s)', (backend) => {
  let w: CredentialWorld;
  let tokenUrl: string;
  beforeAll(async () => {
    w = await credentialWorld(backend);
    tokenUrl = `${w.server.url}/api/v1/oauth/token`;
  }, 60_000);
  afterAll(async () => {
    await w?.dispose();
  });

  async function makeClient(opts: { integrationId?: string; scopes?: string[] } = {}): Promise<{ id: string; secret: string }> {
    const res = await w.asAdmin('POST', `/integrations/${opts.integrationId ?? w.shopId}/oauth-clients`, {
      name: 'partner backend', scopes: opts.scopes ?? ['orders.read', 'status.read'], expiresAt: w.clock.now() + 90 * dayMs,
    });
    expect(res.status).toBe(201);
    return { id: (res.body!.client as { id: string }).id, secret: res.body!.clientSecret as string };
  }

  /** An openid-client configuration for the server's token endpoint (plain http on loopback allowed for the test). */
  function library(clientId: string, auth: oidc.ClientAuth): oidc.Configuration {
    const config = new oidc.Configuration({ issuer: w.server.url, token_endpoint: tokenUrl }, clientId, undefined, auth);
    oidc.allowInsecureRequests(config);
    return config;
  }

  /** A hand-made token request. */
  async function tokenRequest(form: Record<string, string> | string, headers: Record<string, string> = {}) {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  }
  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

  it('client_secret_post and client_secret_basic both get a short-lived bearer token that works at the integration', async () => {
    const client = await makeClient();
    for (const auth of [oidc.ClientSecretPost(client.secret), oidc.ClientSecretBasic(client.secret)]) {
      const tokens = await oidc.clientCredentialsGrant(library(client.id, auth), { scope: 'orders.read status.read' });
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      expect(tokens.expires_in).toBe(600);
      expect(tokens.scope).toBe('orders.read status.read');
      expect(tokens.access_token).toMatch(/^dlt_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$/);
      expect((await w.machine(readPath(w.A), tokens.access_token)).status).toBe(200);
    }
    // Stored as a hash only.
    const rows = await w.ctx.db.selectFrom('oauth_tokens').selectAll().where('client_id', '=', client.id).execute();
    expect(rows).toHaveLength(2);
    expect(JSON.stringify(rows)).not.toMatch(/dlt_[0-9A-Za-z]{16}_/);
    const issued = (await auditRows(w.ctx, 'integration.oauth.token')).filter((r) => r.outcome === 'ok' && r.target_id === client.id);
    expect(issued.map((r) => r.details.method)).toEqual(['client_secret_post', 'client_secret_basic']);
  });

  it('the scope narrows the token; a scope the client does not hold is invalid_scope; none asked gives all the client holds', async () => {
    const client = await makeClient({ scopes: ['orders.read', 'status.read'] });
    const config = library(client.id, oidc.ClientSecretBasic(client.secret));
    const narrow = await oidc.clientCredentialsGrant(config, { scope: 'status.read' });
    expect(narrow.scope).toBe('status.read');
    expect((await w.machine(readPath(w.A), narrow.access_token)).status).toBe(403);
    const all = await oidc.clientCredentialsGrant(config);
    expect(all.scope).toBe('orders.read status.read');
    for (const scope of ['orders.write', 'pod.read', 'stop.edit', 'orders.read  status.read', 'orders.read "x"']) {
      const err = await oidc.clientCredentialsGrant(config, { scope }).catch((e: unknown) => e);
      expect(err, scope).toBeInstanceOf(oidc.ResponseBodyError);
      expect((err as oidc.ResponseBodyError).error, scope).toBe('invalid_scope');
      expect((err as oidc.ResponseBodyError).status, scope).toBe(400);
    }
  });

  it('an unknown client and a wrong secret get the same 401 invalid_client, with a Basic challenge and no caching', async () => {
    const client = await makeClient();
    const wrong = await oidc.clientCredentialsGrant(library(client.id, oidc.ClientSecretPost(`dls_${randomBase62(49)}`))).catch((e: unknown) => e);
    expect((wrong as { status?: number }).status).toBe(401);
    // A minute apart: within a minute, refusals like an earlier one from the same network are digested (audit/refusal-digest.ts).
    const apart = (...args: Parameters<typeof tokenRequest>) => {
      w.clock.advance(refusalDigestWindowMs);
      return tokenRequest(...args);
    };
    const answers = [
      await apart({ grant_type: 'client_credentials' }, basic(client.id, client.secret.slice(0, -1) + 'x')),
      await apart({ grant_type: 'client_credentials' }, basic(`dlc_${randomBase62(16)}`, client.secret)),
      await apart({ grant_type: 'client_credentials', client_id: `dlc_${randomBase62(16)}`, client_secret: client.secret }),
      await apart({ grant_type: 'client_credentials', client_id: client.id, client_secret: 'guess' }),
      await apart({ grant_type: 'client_credentials', client_id: 'admin', client_secret: 'admin' }),
    ];
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect(a.body).toEqual(answers[0]!.body);
      expect(a.body.error).toBe('invalid_client');
      expect(a.headers.get('www-authenticate')).toMatch(/^Basic realm="depotline"/);
      expect(a.headers.get('cache-control')).toBe('no-store');
      expect(a.headers.get('pragma')).toBe('no-cache');
    }
    const denied = (await auditRows(w.ctx, 'integration.oauth.token')).filter((r) => r.outcome === 'denied').slice(-5);
    expect(denied.map((r) => r.details.reason)).toEqual(['secret', 'unknown', 'unknown', 'secret', 'malformed']);
    expect(JSON.stringify(denied)).not.toContain(client.secret);
  });

  it('malformed requests get RFC 6749 section 5.2 errors', async () => {
    const client = await makeClient();
    const post = { client_id: client.id, client_secret: client.secret };
    const cases: [string, Awaited<ReturnType<typeof tokenRequest>>, string][] = [
      ['both authentication methods', await tokenRequest({ grant_type: 'client_credentials', client_secret: client.secret }, basic(client.id, client.secret)), 'invalid_request'],
      ['no grant_type', await tokenRequest(post), 'invalid_request'],
      ['another grant type', await tokenRequest({ ...post, grant_type: 'password' }), 'unsupported_grant_type'],
      ['a repeated parameter', await tokenRequest(`grant_type=client_credentials&scope=orders.read&scope=status.read&client_id=${client.id}&client_secret=${client.secret}`), 'invalid_request'],
      ['a JSON body', await tokenRequest(JSON.stringify({ grant_type: 'client_credentials', ...post }), { 'content-type': 'application/json' }), 'invalid_request'],
      // Parameters the endpoint does not know are ignored (RFC 6749 section 3.2): this one is not authenticated.
      ['an unknown parameter and no client', await tokenRequest({ grant_type: 'client_credentials', pad: 'x'.repeat(2000) }), 'invalid_client'],
      ['no client authentication', await tokenRequest({ grant_type: 'client_credentials' }), 'invalid_client'],
      ['a Bearer header', await tokenRequest({ grant_type: 'client_credentials' }, { authorization: `Bearer ${client.secret}` }), 'invalid_client'],
    ];
    for (const [what, res, error] of cases) {
      expect(res.body.error, what).toBe(error);
      expect(res.status, what).toBe(error === 'invalid_client' ? 401 : 400);
      expect(typeof res.body.error_description, what).toBe('string');
      expect(res.headers.get('cache-control'), what).toBe('no-store');
    }
    // A form larger than the server reads is refused before anything else happens.
    const huge = await tokenRequest({ grant_type: 'client_credentials', ...post, pad: 'x'.repeat(20_000) });
    expect([400, 413]).toContain(huge.status);
    expect(huge.body.access_token).toBeUndefined();
  });

  it('a token is bound to its integration, expires after its lifetime, and dies with its client', async () => {
    const courierClient = await makeClient({ integrationId: w.courierId, scopes: ['orders.read'] });
    const courier = await oidc.clientCredentialsGrant(library(courierClient.id, oidc.ClientSecretPost(courierClient.secret)));
    expect((await w.machine(readPath(w.B), courier.access_token)).status).toBe(200);
    expect((await w.machine(readPath(w.A), courier.access_token)).status).toBe(403);

    w.clock.advance(600_000);
    const expired = await w.machine(readPath(w.B), courier.access_token);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');

    const fresh = await oidc.clientCredentialsGrant(library(courierClient.id, oidc.ClientSecretPost(courierClient.secret)));
    expect((await w.machine(readPath(w.B), fresh.access_token)).status).toBe(200);
    expect((await w.asAdmin('POST', `/integrations/${w.courierId}/oauth-clients/${courierClient.id}/revoke`)).status).toBe(200);
    expect((await w.machine(readPath(w.B), fresh.access_token)).status).toBe(401);
    expect((await auditRows(w.ctx, 'integration.authenticate')).at(-1)!.details).toMatchObject({ reason: 'client revoked' });
    const again = await oidc.clientCredentialsGrant(library(courierClient.id, oidc.ClientSecretPost(courierClient.secret))).catch((e: unknown) => e);
    expect((again as { status?: number }).status).toBe(401);
  });

  it('a suspended integration gets no token and its tokens are refused', async () => {
    const paused = await registerIntegration(w.ctx, `oauth-paused-${w.A}`.toLowerCase(), [{ locationId: w.A, permissions: ['orders.read'] }]);
    const client = await makeClient({ integrationId: paused, scopes: ['orders.read'] });
    const config = library(client.id, oidc.ClientSecretBasic(client.secret));
    const token = await oidc.clientCredentialsGrant(config);
    await suspendIntegration(w.ctx, paused);
    expect((await w.machine(readPath(w.A), token.access_token)).status).toBe(403);
    const err = await oidc.clientCredentialsGrant(config).catch((e: unknown) => e);
    expect((err as oidc.ResponseBodyError).error).toBe('unauthorized_client');
  });

  it('rotating a client secret: both secrets work until the chosen end, then only the new one', async () => {
    const client = await makeClient();
    const now = w.clock.now();
    const rotated = await w.asAdmin('POST', `/integrations/${w.shopId}/oauth-clients/${client.id}/rotate`, { oldEndsAt: now + dayMs });
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body!.clientSecret as string;
    expect(rotated.body!.client).toMatchObject({ id: client.id, previousSecretEndsAt: now + dayMs });
    // A second rotation during the overlap would end the old secret early without anyone choosing it.
    expect((await w.asAdmin('POST', `/integrations/${w.shopId}/oauth-clients/${client.id}/rotate`, { oldEndsAt: now })).status).toBe(409);
    await expect(oidc.clientCredentialsGrant(library(client.id, oidc.ClientSecretPost(client.secret)))).resolves.toHaveProperty('access_token');
    await expect(oidc.clientCredentialsGrant(library(client.id, oidc.ClientSecretPost(newSecret)))).resolves.toHaveProperty('access_token');
    w.clock.advance(dayMs);
    const old = await oidc.clientCredentialsGrant(library(client.id, oidc.ClientSecretPost(client.secret))).catch((e: unknown) => e);
    expect((old as { status?: number }).status).toBe(401);
    await expect(oidc.clientCredentialsGrant(library(client.id, oidc.ClientSecretBasic(newSecret)))).resolves.toHaveProperty('access_token');
  });
});
