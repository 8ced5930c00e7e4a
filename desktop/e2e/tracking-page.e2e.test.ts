/**
 * The customer tracking page in Debian's Chromium, against a real sync server (SQLite and
 * PostgreSQL): a phone-sized browser opens the link a dispatcher made, as a customer would.
 * What it must show, and what it must never carry: its HTML, every response the page loads and
 * every request it makes are searched for the stop's id, the route, other stops, the customer's
 * name, address, phone and notes and the driver's name (unique strings per test). Live update
 * without reload, delivered, expired and revoked; no cookie, nothing from another origin, no
 * policy violation. Screenshots: active, delivered, expired.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testClock, type TestClock } from '../../sync-server/test/factories';
import { backends } from '../../sync-server/test/harness';
import { push, setStatus } from '../../sync-server/test/webhook-world';
import { buildWorld, rest, type World } from '../../sync-server/test/world';
import { newPinColumns } from '../../sync-server/src/proofs/delivery-pin';
import { encryptStopPii } from '../../sync-server/src/sync/stop-pii';
import { launchChromium, screenshotDir } from './support/browser';

const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

interface Seen { url: string; body: string }

async function openAsCustomer(browser: Browser, url: string) {
  const context = await browser.newContext({ viewport: { width: 390, height: 780 }, deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  const problems: string[] = [];
  const seen: Seen[] = [];
  const requests: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 404/.test(msg.text())) problems.push(msg.text());
    if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (req) => requests.push(`${req.method()} ${req.url()} ${JSON.stringify(req.headers())} ${req.postData() ?? ''}`));
  page.on('response', (res) => {
    void res.body().then((b) => seen.push({ url: res.url(), body: `${JSON.stringify(res.headers())}\n${b.toString('utf8')}` }), () => undefined);
  });
  await page.goto(url);
  return { context, page, problems, seen, requests };
}

const statusText = (page: Page) => page.locator('#status').textContent();

describe.each(backends)('customer tracking page in Chromium (%s)', (backend) => {
  let browser: Browser;
  let w: World;
  let clock: TestClock;

  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser.close();
  });
  beforeEach(async () => {
    w = await buildWorld(backend, 4);
    clock = testClock(Date.now());
    w.ctx.now = clock.now;
    await w.ctx.db.updateTable('locations').set({ name: 'Riverside Depot' }).where('id', '=', w.A).execute();
    w.ctx.config = { ...w.ctx.config, tracking: { ...w.ctx.config.tracking, coarseDistance: true } };
  }, 120_000);
  afterEach(async () => {
    await w.dispose();
  });

  it('shows depot, status, window, ETA, stops before and distance, never a forbidden field, updates live, then delivered and expired', async () => {
    const [s0, s1, s2] = w.stops.A1;
    const mine = s2!;
    // The route is under way: the first stop delivered, the driver heading to the second; a fresh position and coordinates give an ETA.
    await w.ctx.db.updateTable('stops').set(encryptStopPii(w.ctx, mine.id, { coordinates: { lat: 52.5208, lng: 13.4095 } })).where('id', '=', mine.id).execute();
    await w.ctx.db.updateTable('stops').set(newPinColumns(w.ctx, mine.id, true)).where('id', '=', mine.id).execute();
    await w.ctx.db.updateTable('stops').set(encryptStopPii(w.ctx, s1!.id, { coordinates: { lat: 52.5163, lng: 13.3777 } })).where('id', '=', s1!.id).execute();
    await w.ctx.db.insertInto('positions').values({ driver_id: w.driverRecordId, location_id: w.A, lat: 52.51, lng: 13.35, heading_deg: null, speed_kmh: null, recorded_at: clock.now(), version: 1 }).execute();
    for (const to of ['en_route', 'arrived', 'delivered']) await push(w, w.users.dispatcher.token, [setStatus(w.A, s0!.id, to)]);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, s1!.id, 'en_route')]);

    const made = await rest(w, 'POST', `/stops/${mine.id}/tracking-links`, w.users.dispatcher.token, {});
    expect(made.status).toBe(201);
    const url = made.body!['url'] as string;
    const customer = await openAsCustomer(browser, `${url}?poll=1000`);
    const { page } = customer;

    await eventually(() => page.locator('h1').textContent()).toBe('Your delivery');
    expect(await page.locator('#depot').textContent()).toBe('Riverside Depot');
    expect(await statusText(page)).toBe('Out for delivery');
    expect(await page.locator('#ahead').textContent()).toBe('1');
    expect(await page.locator('#window').textContent()).toMatch(/\d\d:\d\d–\d\d:\d\d$/);
    expect(await page.locator('#eta-row').isVisible()).toBe(true);
    expect(await page.locator('#pin-box').isVisible()).toBe(true);
    expect(await page.locator('#pin').textContent()).toMatch(/^\d{6}$/);
    expect(await page.locator('#distance-row').isVisible()).toBe(false);

    // Live: the driver finishes the stop before; without a reload the page says this one is next.
    await push(w, w.users.dispatcher.token, [setStatus(w.A, s1!.id, 'arrived')]);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, s1!.id, 'delivered')]);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, mine.id, 'en_route')]);
    await eventually(() => statusText(page)).toBe('On the way to you: you are the next stop');
    expect(await page.locator('#ahead').textContent()).toBe('None: you are next');
    expect(await page.locator('#distance').textContent()).toMatch(/^About \d+(\.5)? km$/);
    if (backend === 'sqlite') await page.screenshot({ path: path.join(screenshotDir, '70-tracking-page-active.png'), fullPage: true });

    await push(w, w.users.dispatcher.token, [setStatus(w.A, mine.id, 'arrived')]);
    // The customer gave the driver the PIN (its capture is the delivery checks' own test).
    await w.ctx.db.updateTable('stops').set({ pin_verified_at: clock.now() }).where('id', '=', mine.id).execute();
    expect(await push(w, w.users.dispatcher.token, [setStatus(w.A, mine.id, 'delivered')])).toEqual([expect.objectContaining({ status: 'applied' })]);
    await eventually(() => statusText(page)).toBe('Delivered');
    expect(await page.locator('#eta-row').isVisible()).toBe(false);
    expect(await page.locator('#ahead-row').isVisible()).toBe(false);
    expect(await page.locator('#pin-box').isVisible()).toBe(false);
    if (backend === 'sqlite') await page.screenshot({ path: path.join(screenshotDir, '71-tracking-page-delivered.png'), fullPage: true });

    // Everything the page received and sent, searched for what it must never carry.
    const html = await page.content();
    const forbidden = [
      w.A, w.routes.A1, w.driverRecordId, 'Dana Driver', 'Otto Other', 'Route route-a1',
      ...w.stops.A1.flatMap((s) => [s.id, s.customerName, s.address, s.phone, s.notes]),
      ...w.stops.A2.flatMap((s) => [s.id, s.customerName]),
    ];
    expect(customer.seen.length).toBeGreaterThanOrEqual(4);
    for (const f of forbidden) {
      expect(html).not.toContain(f);
      for (const s of customer.seen) expect(s.body, s.url).not.toContain(f);
      for (const r of customer.requests) expect(r).not.toContain(f);
    }
    const origin = new URL(url).origin;
    expect(customer.requests.every((r) => r.split(' ')[1]!.startsWith(origin))).toBe(true);
    expect(customer.requests.some((r) => r.includes('/status'))).toBe(true);
    expect(await customer.context.cookies()).toEqual([]);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(customer.problems).toEqual([]);

    // After the grace time the link has ended: the page says so on its own, and on reload.
    clock.advance(w.ctx.config.tracking.afterFinalMs + 1);
    await eventually(() => page.locator('main').getAttribute('data-state')).toBe('inactive');
    await page.reload();
    await eventually(() => page.locator('h1').textContent()).toBe('This link is no longer active');
    expect(await page.content()).not.toContain('Riverside Depot');
    if (backend === 'sqlite') await page.screenshot({ path: path.join(screenshotDir, '72-tracking-page-expired.png'), fullPage: true });
    await customer.context.close();
  }, 120_000);

  it('a revoked link shows the same page as an expired or unknown one, with nothing about the order', async () => {
    const stop = w.stops.A1[3]!;
    const made = await rest(w, 'POST', `/stops/${stop.id}/tracking-links`, w.users.dispatcher.token, {});
    const url = made.body!['url'] as string;
    const customer = await openAsCustomer(browser, url);
    expect(await statusText(customer.page)).toBe('Scheduled for delivery');
    const linkId = (made.body!['link'] as { id: string }).id;
    expect((await rest(w, 'POST', `/tracking-links/${linkId}/revoke`, w.users.dispatcher.token, {})).status).toBe(200);
    await customer.page.reload();
    await eventually(() => customer.page.locator('h1').textContent()).toBe('This link is no longer active');
    const revokedHtml = await customer.page.content();
    await customer.page.goto(`${new URL(url).origin}/t/${'A'.repeat(43)}`);
    expect(await customer.page.content()).toBe(revokedHtml);
    for (const f of [stop.id, stop.customerName, stop.address, 'Riverside Depot']) expect(revokedHtml).not.toContain(f);
    expect(customer.problems).toEqual([]);
    await customer.context.close();
  }, 60_000);
});
