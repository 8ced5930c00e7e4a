import type { Browser } from 'playwright-core';
import type { BuiltUser } from '../../../sync-server/test/factories';
import { startTestHost, type TestHost, type TestHostOptions } from '../host/test-host';
import { openConsole, type ConsolePage } from './browser';
import { newInstallation, type Installation } from './console-fixture';
import { signIn } from './ui';

/** A console signed in as its user: its page, test host, installation, and what main logged. */
export type SignedInConsole = ConsolePage & { host: TestHost; install: Installation; logged: string[] };

/**
 * A console installation of its own (profiles directory, keychain entries) behind a test host on
 * `serverUrl`, its page open in `browser` and signed in as `user` until the depot list is there.
 * What main logs is kept in `logged`; the installation and host go into `cleanup`, the page into
 * `pages` (closeCheckedPages checks and closes them after the test).
 */
export async function signedInConsole(o: {
  browser: Browser; serverUrl: string; rendererDir: string; user: BuiltUser;
  cleanup: Array<() => Promise<void>>; pages: ConsolePage[];
  service?: Omit<NonNullable<TestHostOptions['service']>, 'log'>;
}): Promise<SignedInConsole> {
  const install = newInstallation();
  o.cleanup.push(() => install.dispose());
  const logged: string[] = [];
  const host = await startTestHost({
    serverUrl: o.serverUrl, rendererDir: o.rendererDir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
    service: { ...o.service, log: { warn: (message, fields) => logged.push(`${message} ${JSON.stringify(fields ?? {})}`) } },
  });
  o.cleanup.push(() => host.close());
  const page = await openConsole(o.browser, host);
  o.pages.push(page);
  await signIn(page.page, { username: o.user.username, password: o.user.password });
  await page.page.getByTestId('location-switcher').locator('option').first().waitFor({ state: 'attached' });
  return Object.assign(page, { host, install, logged });
}
