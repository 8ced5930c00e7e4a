/**
 * Security keys end to end (issue 9): a real sync-server, Debian's Chromium and a CTAP2 virtual
 * authenticator (DevTools `WebAuthn.addVirtualAuthenticator`). The ceremony runs on the page the
 * server serves from its own origin, `http://localhost:<port>` (the relying party; localhost is
 * a secure context), exactly as the console hands it to a browser. Every attack here is one the
 * issue names: registering with a stolen token or without the password, a replayed assertion,
 * a look-alike origin, a wrong RP id, a cloned authenticator.
 */
import { LoginResponse } from '@depotline/shared';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUser, newDeviceId, restCall, signIn, testClock, totpNow, type BuiltUser, type TestClock } from '../../sync-server/test/factories';
import { backends, startTestServer, type TestServer } from '../../sync-server/test/harness';
import { launchChromium } from './support/browser';
import {
  answeredAssertion, ceremonyOptions, forgeAssertionForRpId, openKeyTab, parseStarted, poll, runCeremonyPage, simpleWebauthnBundle, startLookAlikeSite, type KeyTab,
} from './support/security-keys';

describe.each(backends)('security keys in Chromium with a virtual authenticator (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;
  let browser: Browser;
  let context: BrowserContext;
  let tab: KeyTab;
  let user: BuiltUser;
  let token: string;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, {}, { now: clock.now });
    browser = await launchChromium();
    context = await browser.newContext();
    tab = await openKeyTab(context);
    user = await buildUser(server.ctx, { role: 'dispatcher', withTotp: true });
    token = (await signIn(server.url, server.ctx, user)).tokens.accessToken;
    clock.advance(30_000); // the next TOTP code is a new one
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const origin = () => server.ctx.config.webauthn!.origin;
  const post = (path: string, body: unknown, bearer?: string) => restCall(server.url, 'POST', path, { body, token: bearer });
  const db = () => server.ctx.db;
  const sessionCount = async () => Number((await db().selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', user.id).executeTakeFirstOrThrow()).n);
  const keyRows = () => db().selectFrom('webauthn_credentials').selectAll().where('user_id', '=', user.id).execute();
  const alerts = async (kind: string) => (await db().selectFrom('security_alerts').select('kind').where('user_id', '=', user.id).where('kind', '=', kind).execute()).length;
  const denials = async (action: string) => (await db().selectFrom('audit_log').select(['details']).where('action', '=', action).where('outcome', '=', 'denied').orderBy('seq').execute())
    .map((r) => JSON.parse(r.details) as Record<string, unknown>);
  const freshTotp = () => {
    clock.advance(30_000);
    return totpNow(server.ctx, user);
  };
  /** The virtual authenticator's copy of a stored key (it also holds keys the server refused). */
  async function authenticatorCredential(storedId: string) {
    const { credentials } = await tab.cdp.send('WebAuthn.getCredentials', { authenticatorId: tab.authenticatorId });
    const found = credentials.find((c) => Buffer.from(c.credentialId, 'base64').toString('base64url') === storedId);
    if (!found) throw new Error('the authenticator does not hold that key');
    return found;
  }
  /** Sign-in with a key, step one and the page: returns the ceremony and the assertion it produced. */
  async function keyCeremonyForLogin(deviceId: string) {
    const started = parseStarted(await post('/auth/webauthn/login', { username: user.username, password: user.password, deviceId }));
    expect(await runCeremonyPage(tab, started)).toMatchObject({ outcome: 'done' });
    return { started, response: await answeredAssertion(server.url, started) };
  }

  it('the relying party is the server origin as browsers reach it: localhost, with the real port', () => {
    expect(server.ctx.config.webauthn).toEqual({ rpId: 'localhost', origin: `http://localhost:${server.port}`, derivedFromPort: true });
  });

  it('a stolen access token alone cannot add a key; neither can a wrong password or a missing second factor', async () => {
    const before = await sessionCount();
    // The thief has only the token: no password, no code.
    const tokenOnly = await post('/security-keys/registrations', { name: 'Thief key' }, token);
    expect(tokenOnly.status).toBe(400);
    const wrongPassword = await post('/security-keys/registrations', { name: 'Thief key', password: 'not the password' }, token);
    expect(wrongPassword.body).toMatchObject({ error: { code: 'invalid_credentials' } });
    const noCode = await post('/security-keys/registrations', { name: 'Thief key', password: user.password }, token);
    expect(noCode.body).toMatchObject({ error: { code: 'mfa_required' } });
    const noToken = await post('/security-keys/registrations', { name: 'Thief key', password: user.password, totp: freshTotp() });
    expect(noToken.status).toBe(401);
    // The wrong password counted like a failed sign-in.
    const failures = await db().selectFrom('audit_log').select('details').where('actor_user_id', '=', user.id).where('action', '=', 'auth.login').where('outcome', '=', 'failed').execute();
    expect(failures.map((f) => String(f.details))).toEqual(expect.arrayContaining([expect.stringContaining('bad_password')]));
    expect(await db().selectFrom('webauthn_challenges').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
    expect(await keyRows()).toEqual([]);
    expect(await sessionCount()).toBe(before);
  });

  it('registers a key through the ceremony page on the server origin, raising factor_added and opening no session', async () => {
    const before = await sessionCount();
    const started = parseStarted(await post('/security-keys/registrations', { name: 'Blue key', password: user.password, totp: freshTotp() }, token));
    expect(started.ceremonyUrl).toBe(`${origin()}/webauthn/ceremony#${started.ceremonyId}`);
    expect(await poll(server.url, started)).toMatchObject({ status: 'pending' });

    // (From Node, through the listening address: the browser is the one that needs the localhost name.)
    const page = await fetch(`${server.url}/webauthn/ceremony`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'; connect-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');

    expect(await runCeremonyPage(tab, started)).toMatchObject({ outcome: 'done' });
    // The page took the ceremony id out of the address bar.
    expect(new URL(tab.page.url()).hash).toBe('');
    const status = await poll(server.url, started);
    if (status.status !== 'done') throw new Error(`expected done, got ${JSON.stringify(status)}`);
    expect(status.key).toMatchObject({ name: 'Blue key', lastUsedAt: null });
    const listed = await restCall(server.url, 'GET', '/security-keys', { token });
    expect(listed.body).toMatchObject({ keys: [{ id: status.key.id, name: 'Blue key' }] });
    expect(await alerts('factor_added')).toBe(1);
    expect(await sessionCount()).toBe(before);

    // The ceremony is spent: the page cannot be run again, and its answer cannot be posted twice.
    expect(await runCeremonyPage(tab, started)).toMatchObject({ outcome: 'failed' });
    const renamed = await restCall(server.url, 'PATCH', `/security-keys/${status.key.id}`, { token, body: { name: 'Blue key (desk)' } });
    expect(renamed.body).toMatchObject({ key: { name: 'Blue key (desk)' } });
  });

  it('a registration dies with the session that started it', async () => {
    const driver = await buildUser(server.ctx, { role: 'driver' });
    const driverToken = (await signIn(server.url, server.ctx, driver)).tokens.accessToken;
    const started = parseStarted(await post('/security-keys/registrations', { name: 'Late key', password: driver.password }, driverToken));
    // The user signs out (or an admin revokes the session of a stolen token) before the key is touched.
    expect((await post('/auth/logout', undefined, driverToken)).status).toBe(204);
    expect(await runCeremonyPage(tab, started)).toMatchObject({ outcome: 'failed' });
    expect(await poll(server.url, started)).toMatchObject({ status: 'failed' });
    expect(await db().selectFrom('webauthn_credentials').select('id').where('user_id', '=', driver.id).execute()).toEqual([]);
  });

  it('signs in with password and key; the assertion cannot be replayed', async () => {
    const deviceId = newDeviceId();
    const { started, response } = await keyCeremonyForLogin(deviceId);
    const body = { username: user.username, password: user.password, deviceId, webauthn: { ceremonyId: started.ceremonyId, pollToken: started.pollToken, response } };
    const ok = await post('/auth/login', body);
    expect(ok.status).toBe(200);
    expect(LoginResponse.parse(ok.body).status).toBe('ok');
    const login = await db().selectFrom('audit_log').select('details').where('action', '=', 'auth.login').where('outcome', '=', 'ok').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(JSON.parse(login.details)).toMatchObject({ method: 'password+webauthn' });
    expect((await keyRows())[0]!.last_used_at).not.toBeNull();

    const sessions = await sessionCount();
    // The same request again: the challenge is spent.
    const replay = await post('/auth/login', body);
    expect(replay.body).toMatchObject({ error: { code: 'webauthn_invalid' } });
    // The same assertion under a fresh ceremony: signed over another challenge.
    const fresh = parseStarted(await post('/auth/webauthn/login', { username: user.username, password: user.password, deviceId }));
    const moved = await post('/auth/login', { ...body, webauthn: { ceremonyId: fresh.ceremonyId, pollToken: fresh.pollToken, response } });
    expect(moved.body).toMatchObject({ error: { code: 'webauthn_invalid' } });
    expect(await sessionCount()).toBe(sessions);
    const reasons = (await denials('webauthn.assert')).map((d) => String(d.reason));
    expect(reasons).toContain('replayed');
    expect(reasons.some((r) => /challenge/i.test(r))).toBe(true);
  });

  it('the sign-in ceremony answers an unknown username exactly like a wrong password', async () => {
    const wrong = await post('/auth/webauthn/login', { username: user.username, password: 'wrong password', deviceId: newDeviceId() });
    const unknown = await post('/auth/webauthn/login', { username: 'nobody-here', password: 'wrong password', deviceId: newDeviceId() });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    expect(unknown.body).toEqual(wrong.body);
  });

  it('an assertion made on a look-alike origin is refused', async () => {
    const site = await startLookAlikeSite();
    try {
      // A phishing proxy relays the real options (it knows the password) and has the user touch their key on its page.
      const deviceId = newDeviceId();
      const started = parseStarted(await post('/auth/webauthn/login', { username: user.username, password: user.password, deviceId }));
      const { options } = await ceremonyOptions(server.url, started);
      await tab.page.goto(site.url);
      await tab.page.addScriptTag({ content: simpleWebauthnBundle() });
      const response = await tab.page.evaluate(async (optionsJSON) => {
        const lib = (window as unknown as { SimpleWebAuthnBrowser: { startAuthentication(o: { optionsJSON: unknown }): Promise<unknown> } }).SimpleWebAuthnBrowser;
        return lib.startAuthentication({ optionsJSON });
      }, options);
      const sessions = await sessionCount();
      const refused = await post('/auth/login', { username: user.username, password: user.password, deviceId, webauthn: { ceremonyId: started.ceremonyId, pollToken: started.pollToken, response } });
      expect(refused.body).toMatchObject({ error: { code: 'webauthn_invalid' } });
      expect(await sessionCount()).toBe(sessions);
      const reason = String((await denials('webauthn.assert')).at(-1)?.reason);
      expect(reason).toMatch(/origin/i);
      expect(reason).toContain(site.url.replace(/\/$/, ''));
    } finally {
      await site.close();
    }
  });

  it('an assertion for another RP id is refused, even with a valid signature, challenge and origin', async () => {
    const deviceId = newDeviceId();
    const started = parseStarted(await post('/auth/webauthn/login', { username: user.username, password: user.password, deviceId }));
    const { options } = await ceremonyOptions(server.url, started);
    const stored = (await keyRows())[0]!;
    const cred = await authenticatorCredential(stored.id);
    const response = forgeAssertionForRpId({
      credentialId: stored.id, privateKeyPkcs8B64: cred.privateKey, rpId: 'evil.localhost', origin: origin(), challenge: String(options.challenge), signCount: Number(stored.sign_count) + 100,
    });
    const refused = await post('/auth/login', { username: user.username, password: user.password, deviceId, webauthn: { ceremonyId: started.ceremonyId, pollToken: started.pollToken, response } });
    expect(refused.body).toMatchObject({ error: { code: 'webauthn_invalid' } });
    // The refusal names the check that failed (and only that one: signature, origin and challenge were good).
    expect(String((await denials('webauthn.assert')).at(-1)?.reason)).toMatch(/rp ?id/i);
    expect(Number((await keyRows())[0]!.sign_count)).toBe(Number(stored.sign_count));
  });

  it('TOTP alone is refused for a role that policy says must use a key', async () => {
    const config = server.ctx.config;
    server.ctx.config = { ...config, webauthnRequiredRoles: new Set(['dispatcher']) };
    try {
      const refused = await post('/auth/login', { username: user.username, password: user.password, deviceId: newDeviceId(), totp: freshTotp() });
      expect(refused.body).toMatchObject({ error: { code: 'webauthn_required' } });
      const deviceId = newDeviceId();
      const { started, response } = await keyCeremonyForLogin(deviceId);
      const ok = await post('/auth/login', { username: user.username, password: user.password, deviceId, webauthn: { ceremonyId: started.ceremonyId, pollToken: started.pollToken, response } });
      expect(ok.status).toBe(200);
    } finally {
      server.ctx.config = config;
    }
  });

  it('a cloned authenticator (signature counter going back) is refused and raises an alert', async () => {
    // The clone: the same credential (id and private key) put back into the authenticator with
    // a signature counter of 0, as a copy taken of the key material would have, while the server
    // has seen the original count up. We do it with the DevTools protocol (remove the credential,
    // add it again with signCount 0) rather than by editing the stored counter, so the assertion
    // is one Chromium and the authenticator really produce.
    const stored = (await keyRows())[0]!;
    const original = await authenticatorCredential(stored.id);
    expect(Number(stored.sign_count)).toBeGreaterThan(1);
    await tab.cdp.send('WebAuthn.removeCredential', { authenticatorId: tab.authenticatorId, credentialId: original.credentialId });
    await tab.cdp.send('WebAuthn.addCredential', { authenticatorId: tab.authenticatorId, credential: { ...original, signCount: 0 } });

    const before = await alerts('cloned_authenticator');
    const sessions = await sessionCount();
    const deviceId = newDeviceId();
    const { started, response } = await keyCeremonyForLogin(deviceId);
    const refused = await post('/auth/login', { username: user.username, password: user.password, deviceId, webauthn: { ceremonyId: started.ceremonyId, pollToken: started.pollToken, response } });
    expect(refused.body).toMatchObject({ error: { code: 'webauthn_invalid' } });
    expect(await alerts('cloned_authenticator')).toBe(before + 1);
    expect((await denials('webauthn.assert')).at(-1)).toMatchObject({ reason: 'sign_count_regressed' });
    expect(await sessionCount()).toBe(sessions);
    // Nothing else changed: the stored count stands, and the key is still there.
    expect(Number((await keyRows())[0]!.sign_count)).toBe(Number(stored.sign_count));
  });

  it('a user whose only factor is a key proves it with that key to add a second one and to remove one', async () => {
    const driver = await buildUser(server.ctx, { role: 'driver' });
    const driverToken = (await signIn(server.url, server.ctx, driver)).tokens.accessToken;
    const as = (path: string, body: unknown) => post(path, body, driverToken);
    // No factor yet: the password alone adds the first one.
    const first = parseStarted(await as('/security-keys/registrations', { name: 'Key A', password: driver.password }));
    expect(await runCeremonyPage(tab, first)).toMatchObject({ outcome: 'done' });
    expect((await post('/auth/login', { username: driver.username, password: driver.password, deviceId: newDeviceId() })).body)
      .toMatchObject({ error: { code: 'mfa_required' } });

    // Now the password alone is not enough to add another key: the existing key must confirm.
    expect((await as('/security-keys/registrations', { name: 'Key B', password: driver.password })).body).toMatchObject({ error: { code: 'webauthn_required' } });
    const stepUp = parseStarted(await as('/security-keys/step-up', { password: driver.password }));
    expect(await runCeremonyPage(tab, stepUp)).toMatchObject({ outcome: 'done' });
    const proof = { ceremonyId: stepUp.ceremonyId, pollToken: stepUp.pollToken, response: await answeredAssertion(server.url, stepUp) };
    const second = parseStarted(await as('/security-keys/registrations', { name: 'Key B', password: driver.password, webauthn: proof }));
    // A second authenticator, in its own tab: the first one holds Key A, which the options exclude.
    const otherTab = await openKeyTab(context);
    try {
      expect(await runCeremonyPage(otherTab, second)).toMatchObject({ outcome: 'done' });
      // The step-up proof was spent by that registration.
      expect((await as('/security-keys/registrations', { name: 'Key C', password: driver.password, webauthn: proof })).body).toMatchObject({ error: { code: 'webauthn_invalid' } });

      // Remove Key A, confirming with Key B (the other tab's authenticator).
      const keys = await db().selectFrom('webauthn_credentials').select(['id', 'name']).where('user_id', '=', driver.id).orderBy('created_at').execute();
      expect(keys.map((k) => k.name)).toEqual(['Key A', 'Key B']);
      const confirm = parseStarted(await as('/security-keys/step-up', { password: driver.password }));
      expect(await runCeremonyPage(otherTab, confirm)).toMatchObject({ outcome: 'done' });
      const removeProof = { ceremonyId: confirm.ceremonyId, pollToken: confirm.pollToken, response: await answeredAssertion(server.url, confirm) };
      expect((await restCall(server.url, 'DELETE', `/security-keys/${keys[0]!.id}`, { token: driverToken, body: { password: driver.password, webauthn: removeProof } })).status).toBe(204);
      const left = await db().selectFrom('webauthn_credentials').select('name').where('user_id', '=', driver.id).execute();
      expect(left.map((k) => k.name)).toEqual(['Key B']);
      const driverAlerts = await db().selectFrom('security_alerts').select('kind').where('user_id', '=', driver.id).orderBy('at').execute();
      expect(driverAlerts.map((a) => a.kind)).toEqual(['factor_added', 'factor_added', 'factor_removed']);
    } finally {
      await otherTab.close();
    }
  });

  it('removing a key needs the password and a factor, and raises factor_removed', async () => {
    const [key] = await keyRows();
    const noPassword = await restCall(server.url, 'DELETE', `/security-keys/${key!.id}`, { token, body: {} });
    expect(noPassword.status).toBe(400);
    const wrong = await restCall(server.url, 'DELETE', `/security-keys/${key!.id}`, { token, body: { password: 'nope nope nope' } });
    expect(wrong.body).toMatchObject({ error: { code: 'invalid_credentials' } });
    expect(await keyRows()).toHaveLength(1);
    const removed = await restCall(server.url, 'DELETE', `/security-keys/${key!.id}`, { token, body: { password: user.password, totp: freshTotp() } });
    expect(removed.status).toBe(204);
    expect(await keyRows()).toHaveLength(0);
    expect(await alerts('factor_removed')).toBe(1);
  });
});
