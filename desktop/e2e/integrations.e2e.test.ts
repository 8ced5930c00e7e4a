/**
 * The Integrations screen end to end (issue 12): the built renderer in Debian's Chromium, the real
 * desktop core and ConsoleService behind the test host, a real sync-server on SQLite. An admin
 * registers a courier partner, makes an API key and sees its secret once (after a reload it is
 * nowhere on screen, and neither the console's SQLCipher file nor its log holds it), turns on a
 * contact field (which waits for a second admin), and a dispatcher has no such screen and is
 * refused when calling the bridge directly. Screenshots go to desktop/e2e/screenshots/ (git-ignored).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltUser } from '../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { closeCheckedPages, launchChromium, type ConsolePage } from './support/browser';
import { databaseText } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { signedInConsole } from './support/signed-in-console';

const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });

type BridgeWindow = { depotline: Record<string, (args?: unknown) => Promise<{ ok: boolean; error?: { code: string } }>> };

describe('the Integrations screen in Chromium against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let depot: string;
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set(), adminWithoutMfa: true });
    depot = (await buildLocation(server.ctx, { name: 'Harbour Depot' })).id;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  /** A console of its own, signed in as `user`; what main logs is kept in `logged`. */
  const consoleOf = (user: BuiltUser) => signedInConsole({ browser, serverUrl: server.url, rendererDir: renderer.dir, user, cleanup, pages });

  it('an admin registers a partner, sees a new key once and never again, and turning on a contact field waits for a second admin, who approves it; a dispatcher has no such screen', async () => {
    const admin = await buildUser(server.ctx, { role: 'admin', locationIds: [depot], displayName: 'Ada Marsh' });
    const c = await consoleOf(admin);
    await c.page.getByTestId('tab-integrations').click();
    const view = c.page.getByTestId('integrations-view');
    await view.getByText('No integrations here.').waitFor();

    // Keyboard: the form opens from the button; a bad allowlist line is named and stops the save.
    await view.getByTestId('new-integration').focus();
    await c.page.keyboard.press('Enter');
    const form = view.getByTestId('integration-form');
    await form.getByTestId('integration-name').fill('swift-couriers');
    await form.getByTestId('integration-kind').selectOption('courier');
    await form.getByTestId('integration-contact').fill('Kim Doe, dispatch desk, +44 20 7946 0000');
    await form.getByLabel('orders.read at Harbour Depot').check();
    await form.getByTestId('integration-allowlist').fill('203.0.113.0/24\n10.0.0.7/8');
    await eventually(() => form.getByTestId('allowlist-problems').textContent()).toContain('10.0.0.7/8');
    expect(await form.getByTestId('integration-save').isDisabled()).toBe(true);
    await c.screenshot('60-integration-form-allowlist-problem');
    await form.getByTestId('integration-allowlist').fill('203.0.113.0/24\n2001:db8::/48');
    await eventually(() => form.getByTestId('allowlist-problems').count()).toBe(0);
    await form.getByTestId('integration-save').click();
    await view.getByTestId('integration-saved').waitFor();
    const row = view.locator('[data-testid="integration-row"][data-integration-name="swift-couriers"]');
    expect(await row.getByTestId('integration-status').textContent()).toBe('Active');
    expect(await row.textContent()).toContain('Harbour Depot (orders.read, status.read)');
    // The default profile: what a courier needs, no contact or billing fields.
    expect(await row.getByTestId('integration-profile').textContent()).toBe('Order referenceStatus and historyTime windowDelivery address');
    const detail = view.getByTestId('integration-detail');
    expect(await detail.getByTestId('integration-allowlist-view').textContent()).toBe('203.0.113.0/24, 2001:db8::/48');

    // A key: its secret shown once, copyable, with the warning.
    const keys = detail.getByTestId('integration-keys');
    await keys.getByTestId('new-key').click();
    await keys.getByTestId('key-name').fill('swift production');
    await keys.getByTestId('key-create').click();
    const once = keys.getByTestId('secret-once');
    await once.waitFor();
    const secret = await once.getByTestId('secret-value').inputValue();
    expect(secret).toMatch(/^dlk_[0-9A-Za-z]{16}/);
    expect(await once.getByRole('alert').textContent()).toContain('shown only this once');
    await once.getByTestId('secret-copy').click();
    await once.getByRole('status').waitFor();
    await c.screenshot('61-integration-key-shown-once');
    const keyRow = keys.getByTestId('key-row');
    await eventually(() => keyRow.count()).toBe(1);
    const keyId = (await keyRow.getAttribute('data-key-id'))!;
    expect(secret.startsWith(keyId)).toBe(true);
    expect(await keyRow.getByTestId('key-last-used').textContent()).toBe('never');
    await once.getByTestId('secret-done').click();
    await eventually(() => keys.getByTestId('secret-once').count()).toBe(0);
    expect(await c.page.content()).not.toContain(secret);

    // After a reload the key is its id and its facts, the secret nowhere.
    await c.page.reload();
    await c.page.getByTestId('tab-integrations').click();
    await row.getByTestId('open-integration').click();
    await eventually(() => keyRow.getAttribute('data-key-id')).toBe(keyId);
    expect(await keyRow.textContent()).toContain('swift production');
    expect(await c.page.content()).not.toContain(secret);
    expect(await c.page.evaluate(() => document.body.innerText)).not.toContain(secret.slice(keyId.length));
    await c.screenshot('62-integration-keys-after-reload');

    // Turning on the customer's phone: not changed, a request waits for a second admin.
    const profile = detail.getByTestId('profile-editor');
    await profile.getByTestId('profile-phone').getByRole('checkbox').check();
    await profile.getByTestId('profile-needs-approval').waitFor();
    expect(await profile.getByTestId('profile-save').textContent()).toBe('Ask for approval');
    await profile.getByTestId('profile-reason').fill('Swift texts the customer before arrival');
    await profile.getByTestId('profile-save').click();
    const pending = profile.getByTestId('profile-pending');
    await pending.waitFor();
    expect(await pending.textContent()).toContain('Waiting for approval');
    expect(await pending.getByTestId('approval-status').textContent()).toBe('Waiting for a second person');
    expect(await pending.getByTestId('approval-change').textContent()).toContain('phone');
    await c.screenshot('63-integration-profile-waiting-for-approval');
    await eventually(() => row.getByTestId('integration-profile').textContent()).not.toContain('Customer phone');
    expect(await profile.getByTestId('profile-phone').getByRole('checkbox').isChecked()).toBe(false);

    // A second admin approves it in their inbox; then the partner receives the phone number.
    const second = await consoleOf(await buildUser(server.ctx, { role: 'admin', locationIds: [depot], displayName: 'Bea Second' }));
    await second.page.getByTestId('tab-approvals').click();
    const request = second.page.getByTestId('approvals-inbox').getByTestId('approval');
    expect(await request.getByTestId('approval-reason').textContent()).toBe('Swift texts the customer before arrival');
    await request.getByTestId('approve-approval').click();
    await eventually(() => second.page.getByTestId('approvals-inbox').getByTestId('approval').count()).toBe(0);
    await c.page.getByTestId('tab-approvals').click();
    await c.page.getByTestId('tab-integrations').click();
    await eventually(() => row.getByTestId('integration-profile').textContent()).toContain('Customer phone');
    await row.getByTestId('open-integration').click();
    expect(await profile.getByTestId('profile-phone').getByRole('checkbox').isChecked()).toBe(true);

    // Narrowing needs nobody: the phone and the address go at once.
    await profile.getByTestId('profile-phone').getByRole('checkbox').uncheck();
    await profile.getByTestId('profile-address').getByRole('checkbox').uncheck();
    await profile.getByTestId('profile-save').click();
    await profile.getByTestId('profile-saved').waitFor();
    await eventually(() => row.getByTestId('integration-profile').textContent()).toBe('Order referenceStatus and historyTime window');

    // The secret is in none of the console's own stores: not the database (read decrypted, and
    // every file of the profile as bytes), not what main logged.
    expect(await databaseText(c.install)).not.toContain(secret);
    for (const file of c.install.files()) {
      expect(fs.readFileSync(path.join(c.install.profilesDir, file)).toString('latin1'), file).not.toContain(secret);
    }
    expect(c.logged.join('\n')).not.toContain(secret);

    // A dispatcher: no tab, and the bridge refuses the calls behind it.
    const dispatcher = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [depot], displayName: 'Dev Patel' });
    const d = await consoleOf(dispatcher);
    await d.page.getByTestId('tab-approvals').waitFor();
    expect(await d.page.getByTestId('tab-integrations').count()).toBe(0);
    const refused = await d.page.evaluate(async (locationId) => {
      const bridge = (window as unknown as BridgeWindow).depotline;
      return Promise.all([
        bridge.listIntegrations!({ locationId }),
        bridge.createIntegrationKey!({ locationId, integrationId: 'anything', name: 'mine', scopes: ['orders.write'], expiresAt: Date.now() + 86_400_000 }),
      ]);
    }, depot);
    expect(refused.map((r) => r.error?.code)).toEqual(['forbidden', 'forbidden']);
  }, 180_000);

  it('a key\'s calls show in the activity with its last use, a burst of refused calls as an alert; rotation keeps the old key until its end, revocation is at once; a webhook is paused, resumed and its secret rotated; an OAuth client gets a token; each secret shown once', async () => {
    // Loopback receivers are allowed here, as on-premises installations may (nothing is delivered in this test).
    server.ctx.config = { ...server.ctx.config, webhooks: { ...server.ctx.config.webhooks, allowLoopback: true } };
    const admin = await buildUser(server.ctx, { role: 'admin', locationIds: [depot] });
    const c = await consoleOf(admin);
    await c.page.getByTestId('tab-integrations').click();
    const view = c.page.getByTestId('integrations-view');
    await view.getByTestId('new-integration').click();
    const form = view.getByTestId('integration-form');
    await form.getByTestId('integration-name').fill('corner-shop');
    await form.getByTestId('integration-kind').selectOption('shop');
    await form.getByTestId('integration-contact').fill('shop owner');
    await form.getByLabel('orders.read at Harbour Depot').check();
    await form.getByTestId('integration-save').click();
    const detail = view.getByTestId('integration-detail');
    await detail.getByText('corner-shop').first().waitFor();

    const keys = detail.getByTestId('integration-keys');
    await keys.getByTestId('new-key').click();
    await keys.getByTestId('key-name').fill('till');
    await keys.getByTestId('key-create').click();
    const first = await keys.getByTestId('secret-value').inputValue();
    await keys.getByTestId('secret-done').click();

    // The partner calls with it: the call and the key's last use show up, without any body.
    const answer = await fetch(new URL(`/api/v1/locations/${depot}/order-changes`, server.url), { headers: { authorization: `Bearer ${first}` } });
    expect(answer.status).toBe(200);
    const activity = detail.getByTestId('integration-activity');
    await eventually(async () => {
      await activity.getByTestId('refresh-activity').click();
      return activity.getByTestId('integration-call').count();
    }).toBeGreaterThan(0);
    expect(await activity.getByTestId('integration-call').first().textContent()).toContain('GET /api/v1/locations/:locationId/order-changes200');
    await view.getByTestId('open-integration').first().click();
    await view.getByTestId('open-integration').first().click();
    await eventually(() => keys.getByTestId('key-last-used').textContent()).toMatch(/127\.0\.0\.1|::1/);

    // Probing a depot it has no scope at, again and again: an unusual-activity alert for the admins.
    for (let i = 0; i < 25; i++) {
      const probe = await fetch(new URL('/api/v1/locations/depot-elsewhere/order-changes', server.url), { headers: { authorization: `Bearer ${first}` } });
      expect([403, 404]).toContain(probe.status);
    }
    await eventually(async () => {
      await activity.getByTestId('refresh-activity').click();
      return activity.locator('[data-testid="integration-alert"][data-alert-kind="refused_burst"]').count();
    }).toBeGreaterThan(0);
    expect(await activity.getByTestId('integration-calls').textContent()).toMatch(/40[34]/);
    await activity.getByTestId('integration-alerts').scrollIntoViewIfNeeded();
    await c.screenshot('66-integration-activity-and-alert');

    // Rotation: a new secret, once; the old key works until the end date chosen.
    const oldRow = keys.getByTestId('key-row').first();
    const oldId = (await oldRow.getAttribute('data-key-id'))!;
    await oldRow.getByTestId('rotate-key').click();
    await keys.getByTestId('confirm-rotate').click();
    const second = await keys.getByTestId('secret-value').inputValue();
    expect(second).not.toBe(first);
    await keys.getByTestId('secret-done').click();
    const oldKey = keys.locator(`[data-testid="key-row"][data-key-id="${oldId}"]`);
    await eventually(() => oldKey.getAttribute('data-status')).toBe('ending');
    expect(await oldKey.textContent()).toContain('works until');
    expect((await fetch(new URL(`/api/v1/locations/${depot}/order-changes`, server.url), { headers: { authorization: `Bearer ${first}` } })).status).toBe(200);
    await oldKey.getByTestId('revoke-key').click();
    await keys.getByTestId('confirm-revoke').click();
    await eventually(() => oldKey.getAttribute('data-status')).toBe('revoked');
    expect((await fetch(new URL(`/api/v1/locations/${depot}/order-changes`, server.url), { headers: { authorization: `Bearer ${first}` } })).status).toBe(401);
    expect((await fetch(new URL(`/api/v1/locations/${depot}/order-changes`, server.url), { headers: { authorization: `Bearer ${second}` } })).status).toBe(200);

    // A webhook subscription: an http:// address is refused in the form; the secret is shown once.
    const hooks = detail.getByTestId('integration-webhooks');
    await hooks.getByTestId('new-webhook').click();
    await hooks.getByTestId('webhook-url').fill('http://127.0.0.1:9/depotline');
    expect(await hooks.getByTestId('webhook-create').isDisabled()).toBe(true);
    await hooks.getByTestId('webhook-url').fill('https://127.0.0.1:9/depotline');
    await hooks.getByTestId('webhook-form').getByLabel(/Delivered/).check();
    await hooks.getByTestId('webhook-create').click();
    const signing = await hooks.getByTestId('secret-value').inputValue();
    expect(signing).toMatch(/^whsec_/);
    await c.screenshot('64-integration-webhook-secret-shown-once');
    await hooks.getByTestId('secret-done').click();
    const hook = hooks.getByTestId('webhook-row');
    await eventually(() => hook.getAttribute('data-status')).toBe('active');
    expect(await hook.textContent()).toContain('Delivered');
    await hook.getByTestId('pause-webhook').click();
    await eventually(() => hook.getAttribute('data-status')).toBe('paused');
    await hook.getByTestId('pause-webhook').click();
    await eventually(() => hook.getAttribute('data-status')).toBe('active');
    await hook.getByTestId('rotate-webhook').click();
    await hook.getByTestId('confirm-rotate-webhook').click();
    const rotated = await hooks.getByTestId('secret-value').inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(signing);
    await hooks.getByTestId('secret-done').click();
    await eventually(() => hook.textContent()).toContain('previous secret still signs until');
    await c.screenshot('65-integration-keys-webhooks-activity');

    // The events it is sent can be changed later.
    await hook.getByTestId('edit-webhook-events').click();
    await hook.getByLabel(/Delivery failed/).check();
    await hook.getByTestId('save-webhook-events').click();
    await eventually(() => hook.textContent()).toContain('Delivery failed');

    // An OAuth client: its secret shown once, good for a token at the token endpoint.
    const oauth = detail.getByTestId('integration-oauth-clients');
    await oauth.getByTestId('new-oauth-client').click();
    await oauth.getByTestId('oauth-client-name').fill('erp');
    await oauth.getByTestId('oauth-client-create').click();
    const clientSecret = await oauth.getByTestId('secret-value').inputValue();
    await oauth.getByTestId('secret-done').click();
    const clientId = (await oauth.getByTestId('oauth-client-row').getAttribute('data-client-id'))!;
    const token = await fetch(new URL('/api/v1/oauth/token', server.url), {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).toBe(200);

    const stored = await databaseText(c.install);
    for (const secret of [first, second, signing, rotated, clientSecret]) {
      expect(stored).not.toContain(secret);
      expect(await c.page.content()).not.toContain(secret);
    }
  }, 180_000);

  it('an integration that also works for a depot the admin does not manage is shown to them read-only', async () => {
    const quay = (await buildLocation(server.ctx, { name: 'Quay Depot' })).id;
    const both = await buildUser(server.ctx, { role: 'admin', locationIds: [depot, quay] });
    const c = await consoleOf(both);
    await c.page.getByTestId('tab-integrations').click();
    const view = c.page.getByTestId('integrations-view');
    await view.getByTestId('new-integration').click();
    const form = view.getByTestId('integration-form');
    await form.getByTestId('integration-name').fill('two-depot-warehouse');
    await form.getByTestId('integration-kind').selectOption('warehouse');
    await form.getByTestId('integration-contact').fill('warehouse control room');
    await form.getByLabel('status.read at Quay Depot').check();
    await form.getByTestId('integration-save').click();
    await view.getByTestId('integration-saved').waitFor();

    const harbourOnly = await buildUser(server.ctx, { role: 'admin', locationIds: [depot] });
    const h = await consoleOf(harbourOnly);
    await h.page.getByTestId('tab-integrations').click();
    const row = h.page.locator('[data-testid="integration-row"][data-integration-name="two-depot-warehouse"]');
    await row.getByTestId('open-integration').click();
    const detail = h.page.getByTestId('integration-detail');
    await detail.getByTestId('integration-read-only').waitFor();
    expect(await row.textContent()).toContain('another depot');
    expect(await detail.getByTestId('edit-integration').count()).toBe(0);
    expect(await detail.getByTestId('integration-keys').count()).toBe(0);
    expect(await detail.getByTestId('profile-save').count()).toBe(0);
    expect(await detail.getByTestId('profile-editor').getByRole('checkbox').first().isDisabled()).toBe(true);
  }, 120_000);
});
