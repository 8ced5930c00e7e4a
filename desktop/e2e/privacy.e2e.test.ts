/**
 * The Privacy screen end to end (issue 14): the built renderer in Debian's Chromium, the real
 * desktop core and ConsoleService behind the test host, a real sync-server on SQLite and
 * PostgreSQL. An admin sees the depot's retention periods (lowering one applies, raising one
 * waits for a second admin), places a legal hold on one of a customer's stops, registers an
 * access request received long ago (marked overdue) and an erasure request, finds the customer by
 * their phone written another way, records consent and the "do not sell" flag, saves the access
 * export through main's save dialog, and erases: the held stop is kept and the hold's reason and
 * owner are named, and the board and stop detail show the one stop erased and the other held.
 * The request's email, which no stop holds, is afterwards in none of the
 * console's stores (database, files, log). A dispatcher has no such screen and main refuses the
 * calls behind it. Screenshots go to desktop/e2e/screenshots/.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltUser } from '../../sync-server/test/factories';
import { backends, startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser, Office } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { closeCheckedPages, launchChromium, type ConsolePage } from './support/browser';
import { databaseText } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { signedInConsole } from './support/signed-in-console';
import { stopRow } from './support/ui';

const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

type BridgeWindow = { depotline: Record<string, (args?: unknown) => Promise<{ ok: boolean; error?: { code: string } }>> };

describe.each(backends)('the Privacy screen in Chromium against a real sync-server (%s)', (backend) => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let depot: string;
  const tag = crypto.randomBytes(3).toString('hex');
  const kim = { name: `Kim Doe ${tag}`, phone: '+44 7700 900123', email: `kim.${tag}@example.com` };
  const stopIds = [`stop-kim-a-${tag}`, `stop-kim-b-${tag}`];
  const saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-privacy-'));
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer(backend, { mfaRequiredRoles: new Set(), adminWithoutMfa: true });
    depot = (await buildLocation(server.ctx, { name: 'Harbour Depot' })).id;
    const office = await Office.at(server, [depot], 'manager');
    const routeId = await office.createRoute(depot, 'Harbour 1');
    await office.expectApplied(stopIds.map((stopId, i) => ({
      id: crypto.randomUUID(), type: 'stop.create' as const, locationId: depot, createdAt: Date.now(), stopId, routeId, sequence: i,
      customerName: kim.name, address: `${i + 2} Quay Street, Portsmouth`, phone: kim.phone, notes: '', orderRef: `ORD-${tag}-${i}`,
      window: { start: 1_800_000_000_000 + i * 3_600_000, end: 1_800_003_600_000 + i * 3_600_000 },
    })));
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
    fs.rmSync(saveDir, { recursive: true, force: true });
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  /** A console of its own, signed in as `user`, saving files where the test looks for them. */
  const consoleOf = (user: BuiltUser) => signedInConsole({
    browser, serverUrl: server.url, rendererDir: renderer.dir, user, cleanup, pages,
    // The native save dialog, answered with a folder of this test's own.
    service: { chooseSavePath: ({ fileName }) => Promise.resolve(path.join(saveDir, `${backend}-${fileName}`)) },
  });

  it('an admin handles the register, finds a customer, exports their data and erases them, a hold keeping one stop; periods and holds are shown and changed; a dispatcher has no such screen', async () => {
    const admin = await buildUser(server.ctx, { role: 'admin', locationIds: [depot], displayName: 'Ada Marsh' });
    const c = await consoleOf(admin);
    await c.page.getByTestId('tab-privacy').click();
    const view = c.page.getByTestId('privacy-view');
    await view.getByTestId('no-privacy-requests').waitFor();

    // Retention: the defaults; lowering applies at once, raising waits for a second admin.
    const retention = view.getByTestId('retention-section');
    const contact = retention.locator('[data-testid="retention-row"][data-class="contact"]');
    await eventually(() => contact.getByTestId('retention-days').textContent()).toBe('90 days (default)');
    await contact.getByTestId('retention-edit').click();
    await contact.getByTestId('retention-input').fill('60');
    await contact.getByTestId('retention-save').click();
    await eventually(() => contact.getByTestId('retention-days').textContent()).toBe('60 days');
    await contact.getByTestId('retention-edit').click();
    await contact.getByTestId('retention-input').fill('120');
    expect(await contact.getByTestId('retention-save').textContent()).toBe('Ask for approval');
    await contact.getByTestId('retention-reason').fill('Claims are often raised after two months here');
    await contact.getByTestId('retention-save').click();
    await retention.getByTestId('retention-pending').waitFor();
    expect(await contact.getByTestId('retention-days').textContent()).toBe('60 days');

    // A legal hold on the first of Kim's stops.
    const holds = view.getByTestId('holds-section');
    await holds.getByTestId('no-holds').waitFor();
    await holds.getByTestId('place-hold').click();
    await holds.getByTestId('hold-scope').selectOption('stop');
    await holds.getByTestId('hold-stop').fill(stopIds[0]!);
    await holds.getByTestId('hold-reason-input').fill('Damage claim 2026-114 pending');
    await holds.getByTestId('hold-owner-input').fill('Legal: claims desk');
    await holds.getByTestId('hold-save').click();
    const holdRow = holds.getByTestId('hold-row');
    await eventually(() => holdRow.count()).toBe(1);
    expect(await holdRow.getByTestId('hold-covers').textContent()).toBe(`the stop of order ORD-${tag}-0`);
    await holds.scrollIntoViewIfNeeded();
    await c.screenshot('83-privacy-retention-and-holds');

    // The register: an access request received 40 days ago is overdue; an erasure request is due in a month.
    const register = view.getByTestId('privacy-requests');
    const registerRequest = async (kind: string, daysAgo: number) => {
      await register.getByTestId('new-privacy-request').click();
      const form = register.getByTestId('privacy-request-form');
      await form.getByTestId('request-kind').selectOption(kind);
      await form.getByTestId('request-received').fill(new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10));
      await form.getByTestId('request-name').fill(kim.name);
      await form.getByTestId('request-phone').fill('07700 900123');
      await form.getByTestId('request-email').fill(kim.email);
      await form.getByTestId('request-reference').fill(`TICKET-${kind}`);
      await form.getByTestId('request-save').click();
      await eventually(() => register.getByTestId('privacy-request-form').count()).toBe(0);
    };
    await registerRequest('access', 40);
    await registerRequest('erasure', 0);
    await registerRequest('rectification', 2);
    const rows = register.getByTestId('privacy-request-row');
    const row = (kind: string) => register.locator(`[data-testid="privacy-request-row"][data-kind="${kind}"]`);
    /** Opens a request below the register (a new one is open already). */
    const openRequest = async (kind: string) => {
      const button = row(kind).getByTestId('open-privacy-request');
      if (await button.getAttribute('aria-expanded') !== 'true') await button.click();
      await eventually(() => view.getByTestId('privacy-request-detail').getAttribute('data-request-id')).toBe(await row(kind).getAttribute('data-request-id'));
    };
    await eventually(() => rows.count()).toBe(3);
    // Soonest due first: the overdue access request leads, marked so.
    expect(await rows.first().getAttribute('data-kind')).toBe('access');
    expect(await rows.first().getAttribute('data-overdue')).toBe('true');
    expect(await rows.first().getByTestId('privacy-request-due').textContent()).toContain('overdue by');
    expect(await row('erasure').getAttribute('data-overdue')).toBe('false');

    // Finding Kim by the phone written another way: both stops, then consent and the sharing flag.
    // Something that is no phone number is refused with the field named, nothing asked of the server.
    const customer = view.getByTestId('customer-section');
    await customer.getByTestId('customer-phone').fill('call me maybe');
    await customer.getByTestId('customer-search').click();
    await eventually(() => customer.getByRole('alert').textContent()).toContain('phone');
    expect(await customer.getByTestId('customer-result').count()).toBe(0);
    await customer.getByTestId('customer-phone').fill('+44 (7700) 900-123');
    await customer.getByTestId('customer-search').click();
    await eventually(() => customer.getByTestId('customer-stop').count()).toBe(2);
    expect(await customer.getByTestId('customer-result').textContent()).toContain(kim.name);
    await customer.getByTestId('consent-purpose').selectOption('trackingSms');
    await customer.getByTestId('consent-granted').selectOption('no');
    await customer.getByTestId('consent-source').selectOption('phone');
    await customer.getByTestId('consent-record').click();
    await eventually(() => customer.getByTestId('consent-trackingSms').textContent()).toContain('withdrawn');
    await customer.getByTestId('do-not-sell').click();
    await eventually(() => customer.getByTestId('do-not-sell').isChecked()).toBe(true);
    await c.screenshot('80-privacy-register-and-customer');

    // Rectification: the corrected address reaches both of Kim's stops.
    await openRequest('rectification');
    const detail = view.getByTestId('privacy-request-detail');
    await detail.getByTestId('rectify-address').fill('9 Harbour Row, Portsmouth');
    await detail.getByTestId('rectify-save').click();
    await eventually(() => view.getByTestId('privacy-outcome').getByTestId('outcome-counts').textContent()).toBe('2 stops found, 2 corrected');
    await customer.getByTestId('customer-search').click();
    await eventually(async () => (await customer.getByTestId('customer-result').textContent())?.split('9 Harbour Row').length).toBe(3);

    // The access export, saved where the dialog says: a ZIP. The request finds its customer's stops.
    await openRequest('access');
    await customer.getByTestId('clear-customer').click();
    await view.getByTestId('privacy-request-detail').getByTestId('find-their-stops').click();
    await eventually(() => customer.getByTestId('customer-stop').count()).toBe(2);
    await detail.getByTestId('privacy-export').click();
    await detail.getByTestId('privacy-export-saved').waitFor();
    const saved = fs.readdirSync(saveDir).filter((f) => f.startsWith(`${backend}-`) && f.endsWith('.zip'));
    expect(saved).toHaveLength(1);
    expect(fs.readFileSync(path.join(saveDir, saved[0]!)).subarray(0, 2).toString('latin1')).toBe('PK');

    // The erasure: confirmed, one stop erased, the held one kept with the hold's reason and owner.
    await openRequest('erasure');
    await detail.getByTestId('privacy-erase').click();
    await detail.getByTestId('erase-confirm').waitFor();
    await c.screenshot('81-privacy-erase-confirm');
    await detail.getByTestId('erase-now').click();
    const outcome = view.locator(`[data-testid="privacy-outcome"][data-request-id="${(await row('erasure').getAttribute('data-request-id'))!}"]`);
    await outcome.waitFor();
    expect(await outcome.getByTestId('outcome-counts').textContent()).toBe('2 stops found, 1 erased');
    const kept = outcome.getByTestId('holds-kept');
    expect(await kept.textContent()).toContain('1 stop was kept by a legal hold');
    expect(await kept.getByTestId('hold-kept').textContent()).toContain('Damage claim 2026-114 pending');
    expect(await kept.getByTestId('hold-kept').textContent()).toContain('Legal: claims desk');
    await c.screenshot('82-privacy-erased-hold-kept-one');

    // The stop detail says what happened: the erased stop is flagged so (its customer gone), the held one is flagged held.
    const detailOf = (stopId: string) => c.page.evaluate(async (id) => {
      const answer = await (window as unknown as BridgeWindow).depotline.stopDetail!({ stopId: id }) as { value?: { pseudonymised: boolean; held: boolean; stop: { customerName?: string } } };
      return answer.value && { pseudonymised: answer.value.pseudonymised, held: answer.value.held, customerName: answer.value.stop.customerName ?? null };
    }, stopId);
    await eventually(() => detailOf(stopIds[1]!)).toEqual({ pseudonymised: true, held: false, customerName: null });
    await eventually(() => detailOf(stopIds[0]!)).toEqual({ pseudonymised: false, held: true, customerName: kim.name });

    // Releasing the hold needs a second admin: it waits, the hold stays in force.
    await holdRow.getByTestId('release-hold').click();
    await holdRow.getByTestId('release-reason').fill('Claim 2026-114 settled');
    await holdRow.getByTestId('release-send').click();
    await holds.getByTestId('hold-release-pending').waitFor();
    expect(await holdRow.textContent()).toContain('In force');

    // The search now finds only the held stop with Kim's details.
    await customer.getByTestId('customer-search').click();
    await eventually(async () => (await customer.getByTestId('customer-result').textContent())?.split(kim.name).length).toBe(2);

    // The request's email reached no stop: it must be in none of the console's own stores.
    expect(await databaseText(c.install)).not.toContain(kim.email);
    for (const file of c.install.files()) {
      expect(fs.readFileSync(path.join(c.install.profilesDir, file)).toString('latin1'), file).not.toContain(kim.email);
    }
    expect(c.logged.join('\n')).not.toContain(kim.email);
    expect(c.logged.join('\n')).not.toContain('7700');

    // On the board: the erased stop's row and detail say so, with no phone to reveal; the held one shows its badge.
    await c.page.getByRole('button', { name: 'Routes', exact: true }).click();
    await eventually(() => stopRow(c.page, stopIds[1]!).getAttribute('data-erased')).toBe('true');
    await stopRow(c.page, stopIds[1]!).click();
    const stopDetail = c.page.getByTestId('stop-detail');
    await eventually(() => stopDetail.getAttribute('data-stop-id')).toBe(stopIds[1]!);
    expect(await stopDetail.getByTestId('detail-customer').textContent()).toBe('Customer details erased');
    expect(await stopDetail.getByTestId('detail-erased').textContent()).toContain('the delivery record stays');
    expect(await stopDetail.getByTestId('phone-reveal').count()).toBe(0);
    expect(await stopDetail.getByTestId('detail-held').count()).toBe(0);
    await stopRow(c.page, stopIds[0]!).click();
    await eventually(() => stopDetail.getAttribute('data-stop-id')).toBe(stopIds[0]!);
    expect(await stopDetail.getByTestId('detail-held').textContent()).toBe('Legal hold');
    expect(await stopDetail.getByTestId('detail-customer').textContent()).toBe(kim.name);
    expect(await stopDetail.textContent()).not.toContain('Damage claim');

    // A dispatcher: no tab, and main refuses the calls behind it before asking the server.
    const dispatcher = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [depot], displayName: 'Dev Patel' });
    const d = await consoleOf(dispatcher);
    await d.page.getByTestId('tab-approvals').waitFor();
    expect(await d.page.getByTestId('tab-privacy').count()).toBe(0);
    const refused = await d.page.evaluate(async ({ locationId, phone }) => {
      const bridge = (window as unknown as BridgeWindow).depotline;
      return Promise.all([
        bridge.privacyRequests!({ locationId }),
        bridge.searchCustomer!({ locationId, customer: { phone } }),
        bridge.depotRetention!({ locationId }),
        bridge.placeLegalHold!({ locationId, target: { scope: 'location' }, reason: 'just because', owner: 'me' }),
      ]);
    }, { locationId: depot, phone: kim.phone });
    expect(refused.map((r) => r.error?.code)).toEqual(['forbidden', 'forbidden', 'forbidden', 'forbidden']);
    // Refused in main: the server never heard of these calls (it audits every refusal it makes).
    const denied = await server.ctx.db.selectFrom('audit_log').select('action')
      .where('actor_user_id', '=', dispatcher.id).where('outcome', '=', 'denied').execute();
    expect(denied.filter((d) => /privacy|retention|legalHold/.test(d.action))).toEqual([]);
  }, 300_000);
});
