import { CeremonyStarted } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildUser, newDeviceId, restCall, signIn, testClock, totpNow, type BuiltUser, type TestClock } from '../../test/factories';
import { ConfigError, derivedRelyingParty, loadConfig } from '../config';
import { lockoutPolicy } from './throttle';

/*
 * The security-key plumbing that needs no browser: configuration of the relying party, the
 * ceremony page and its relay, expiry, and the password step of a sign-in with a key. The
 * ceremonies themselves, with a real authenticator, are in desktop/e2e/security-keys.e2e.test.ts.
 */

describe('the relying party in configuration', () => {
  it('is derived from HOST and PORT: localhost on loopback, the host name under TLS, nothing for a bare address', () => {
    expect(derivedRelyingParty('127.0.0.1', 8787, false)).toEqual({ rpId: 'localhost', origin: 'http://localhost:8787', derivedFromPort: true });
    expect(derivedRelyingParty('depot.example.com', 443, true)).toEqual({ rpId: 'depot.example.com', origin: 'https://depot.example.com', derivedFromPort: true });
    expect(derivedRelyingParty('0.0.0.0', 443, true)).toBeNull();
    expect(loadConfig({}).webauthn).toEqual({ rpId: 'localhost', origin: 'http://localhost:8787', derivedFromPort: true });
  });

  it('takes WEBAUTHN_ORIGIN and WEBAUTHN_RP_ID, and refuses what no browser would accept', () => {
    expect(loadConfig({ WEBAUTHN_ORIGIN: 'https://keys.depot.example.com:8443/', WEBAUTHN_RP_ID: 'depot.example.com' }).webauthn)
      .toEqual({ rpId: 'depot.example.com', origin: 'https://keys.depot.example.com:8443', derivedFromPort: false });
    expect(() => loadConfig({ WEBAUTHN_ORIGIN: 'http://depot.example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ WEBAUTHN_ORIGIN: 'https://depot.example.com', WEBAUTHN_RP_ID: 'example.org' })).toThrow(/WEBAUTHN_RP_ID/);
    expect(() => loadConfig({ WEBAUTHN_RP_ID: 'depot.example.com' })).toThrow(/WEBAUTHN_ORIGIN/);
    expect(() => loadConfig({ WEBAUTHN_REQUIRED_ROLES: 'admin,superuser' })).toThrow(/superuser/);
    expect(loadConfig({ WEBAUTHN_REQUIRED_ROLES: 'admin, manager' }).webauthnRequiredRoles).toEqual(new Set(['admin', 'manager']));
  });
});

describe.each(backends)('security-key ceremonies over REST (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;
  let user: BuiltUser;
  let token: string;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, {}, { now: clock.now });
    user = await buildUser(server.ctx, { role: 'dispatcher', withTotp: true });
    token = (await signIn(server.url, server.ctx, user)).tokens.accessToken;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const post = (path: string, body: unknown, bearer?: string) => restCall(server.url, 'POST', path, { body, token: bearer });
  async function startRegistration(): Promise<CeremonyStarted> {
    clock.advance(30_000);
    const res = await post('/security-keys/registrations', { name: 'Key', password: user.password, totp: totpNow(server.ctx, user) }, token);
    expect(res.status).toBe(201);
    return CeremonyStarted.parse(res.body);
  }

  it('serves the ceremony page and its scripts from the server origin, with a strict policy', async () => {
    const page = await fetch(`${server.url}/webauthn/ceremony`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'; script-src 'self'; connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).not.toMatch(/<script>(?!<)/); // no inline script
    for (const script of ['/webauthn/ceremony.js', '/webauthn/simplewebauthn-browser.js']) {
      expect(html).toContain(`src="${script}"`);
      const res = await fetch(`${server.url}${script}`);
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect((await res.text()).length).toBeGreaterThan(500);
    }
  });

  it('only the starter learns the outcome; the page sees only pending ceremonies; garbage is refused', async () => {
    const started = await startRegistration();
    const options = await restCall(server.url, 'GET', `/webauthn/ceremonies/${started.ceremonyId}`);
    expect(options.body).toMatchObject({ purpose: 'register', options: { rp: { id: 'localhost' }, attestation: 'none' } });
    // The user handle is the opaque id, never the username (W3C WebAuthn L3 section 14.6.1).
    expect(JSON.stringify(options.body)).not.toContain(`"id":"${user.username}"`);

    const wrongToken = await post(`/webauthn/ceremonies/${started.ceremonyId}/poll`, { pollToken: 'x'.repeat(43) });
    expect(wrongToken.status).toBe(404);
    expect((await restCall(server.url, 'GET', `/webauthn/ceremonies/${'A'.repeat(43)}`)).status).toBe(404);
    const garbage = await post(`/webauthn/ceremonies/${started.ceremonyId}/answer`, { response: { id: 'abc', nonsense: true } });
    expect(garbage.status).toBe(400);
    expect((await post(`/webauthn/ceremonies/${started.ceremonyId}/poll`, { pollToken: started.pollToken })).body).toMatchObject({ status: 'pending' });
  });

  it('a ceremony expires after five minutes', async () => {
    const started = await startRegistration();
    clock.advance(5 * 60_000 + 1);
    expect((await restCall(server.url, 'GET', `/webauthn/ceremonies/${started.ceremonyId}`)).status).toBe(404);
    expect((await post(`/webauthn/ceremonies/${started.ceremonyId}/poll`, { pollToken: started.pollToken })).body).toEqual({ status: 'expired' });
  });

  it('keys of another user are not found, and nothing is said about them', async () => {
    const other = await buildUser(server.ctx, { role: 'driver' });
    const otherToken = (await signIn(server.url, server.ctx, other)).tokens.accessToken;
    await server.ctx.db.insertInto('webauthn_credentials').values({
      id: 'c29tZS1rZXk', user_id: user.id, public_key: 'AA', sign_count: 0, transports: '[]', name: 'Mine', aaguid: null, backed_up: 0, created_at: clock.now(), last_used_at: null,
    }).execute();
    expect((await restCall(server.url, 'PATCH', '/security-keys/c29tZS1rZXk', { token: otherToken, body: { name: 'Taken' } })).status).toBe(404);
    expect((await restCall(server.url, 'DELETE', '/security-keys/c29tZS1rZXk', { token: otherToken, body: { password: other.password } })).status).toBe(404);
    expect((await restCall(server.url, 'GET', '/security-keys', { token: otherToken })).body).toEqual({ keys: [] });
    await server.ctx.db.deleteFrom('webauthn_credentials').where('id', '=', 'c29tZS1rZXk').execute();
  });

  it('wrong passwords at the key sign-in step count like failed sign-ins and lock sign-in the same way', async () => {
    const victim = await buildUser(server.ctx, { role: 'driver' });
    for (let i = 0; i < lockoutPolicy.failuresPerLock; i++) {
      const res = await post('/auth/webauthn/login', { username: victim.username, password: `wrong ${i}`, deviceId: newDeviceId() });
      expect(res.body).toMatchObject({ error: { code: 'invalid_credentials' } });
    }
    const row = await server.ctx.db.selectFrom('users').select(['failed_logins', 'locked_until']).where('id', '=', victim.id).executeTakeFirstOrThrow();
    expect(Number(row.failed_logins)).toBe(lockoutPolicy.failuresPerLock);
    expect(row.locked_until).not.toBeNull();
    const login = await post('/auth/login', { username: victim.username, password: victim.password, deviceId: newDeviceId() });
    expect(login.body).toMatchObject({ error: { code: 'account_locked' } });
  });

  it('without a configured relying party, security keys are unavailable and say why', async () => {
    const config = server.ctx.config;
    server.ctx.config = { ...config, webauthn: null };
    try {
      clock.advance(30_000);
      const res = await post('/security-keys/registrations', { name: 'Key', password: user.password, totp: totpNow(server.ctx, user) }, token);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ error: { message: expect.stringContaining('WEBAUTHN_ORIGIN') as unknown } });
    } finally {
      server.ctx.config = config;
    }
  });
});
