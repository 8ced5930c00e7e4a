/**
 * Enrolling this computer with a token typed in at sign-in (issue 16, "Device enrollment"), end
 * to end: the built renderer in Debian's Chromium, the real core and ConsoleService behind the
 * test host (policy `requireEnrolledDevices` without a token), a real sync-server requiring
 * enrolled devices, the real keychain for the device key.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEnrollmentTokens } from '../../sync-server/src/devices/enrollment';
import { KeytarDeviceKeyStore } from '../src/core';
import { buildLocation, buildUser, startServer } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { startTestHost } from './host/test-host';
import { launchChromium, openConsole, type ConsolePage, closeCheckedPages } from './support/browser';
import { newInstallation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { submitSignIn } from './support/ui';

const operator = { userId: null, label: 'test', deviceId: null, ip: null };

describe('enrolling this computer with a typed-in token, in Chromium against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    renderer?.remove();
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  it('the refusal shows the token field; a bad token is refused in the server\'s words; the token from IT enrolls and signs in', async () => {
    const server = await startServer({ requireEnrolledDevices: true });
    cleanup.push(() => server.dispose());
    const depot = (await buildLocation(server.ctx, { name: 'Harbour Depot' })).id;
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [depot] });
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    const host = await startTestHost({
      serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
      service: { requireEnrolledDevices: true, deviceKeys: new KeytarDeviceKeyStore({ service: install.service }), deviceName: 'Desk 9' },
    });
    cleanup.push(() => host.close());
    const c = await openConsole(browser, host);
    pages.push(c);
    const form = c.page.getByTestId('screen-sign-in');
    const field = c.page.getByTestId('enrollment-token');

    expect(await field.count()).toBe(0);
    await submitSignIn(c.page, { username: user.username, password: user.password });
    await field.waitFor();
    expect(await c.page.getByTestId('sign-in-error').textContent()).toMatch(/not an enrolled device.*type the enrollment token/);

    await field.fill(`dle_${'A'.repeat(43)}`);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await c.page.getByTestId('sign-in-error').filter({ hasText: /enrollment token is not valid/ }).waitFor();
    expect(await field.inputValue()).toBe('');
    expect(await server.ctx.db.selectFrom('enrolled_devices').select('id').execute()).toEqual([]);

    const [issued] = await createEnrollmentTokens(server.ctx, operator, { locationIds: [depot], expiresAt: Date.now() + 3_600_000, count: 1 });
    await field.fill(issued!.token);
    await c.screenshot('01c-sign-in-enrollment-token');
    await form.getByRole('button', { name: 'Sign in' }).click();
    await c.page.getByTestId('screen-console').waitFor();
    expect(await server.ctx.db.selectFrom('enrolled_devices').select('name').execute()).toEqual([{ name: 'Desk 9' }]);
  });
});
