/**
 * Proof of delivery in the console's stop detail, end to end (issue 13): the built renderer in
 * Debian's Chromium, the real desktop core and ConsoleService behind the test host, a real
 * sync-server (SQLite and PostgreSQL) whose driver captured a photo, a signature, a parcel scan and a GPS stamp
 * far from the door through the capture API. An admin sees the proofs, opens the photo (fetched
 * through main, shown from memory as a blob: URL under the page's CSP, the view audited on the
 * server), exports the sealed bundle and asks for a deletion, which waits for a second person;
 * the console's encrypted database holds none of the image. Finance sees that a proof exists and
 * nothing of it. Screenshots 73-74 go to desktop/e2e/screenshots/.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltUser, signIn as restSignIn } from '../../sync-server/test/factories';
import { backends, startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser, Office } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { startTestHost } from './host/test-host';
import { closeCheckedPages, launchChromium, openConsole, type ConsolePage } from './support/browser';
import { databaseText, newInstallation, type Installation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { signIn, stopRow, waitForBoard } from './support/ui';

const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });

const door = { lat: 51.3397, lng: 12.3731 };

/** A photo of a parcel at a door, as a phone would send it (the server re-encodes it). */
const parcelPhoto = () => sharp(Buffer.from(
  `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320"><rect width="480" height="320" fill="#8a6d4b"/>
   <rect x="40" y="30" width="170" height="270" fill="#5b3b22"/><circle cx="190" cy="170" r="7" fill="#d9c27a"/>
   <rect x="260" y="170" width="150" height="110" fill="#c89b5e" stroke="#6b4b24" stroke-width="4"/>
   <rect x="320" y="170" width="28" height="110" fill="#e8d7b0"/></svg>`,
)).jpeg().toBuffer();
const signature = () => sharp(Buffer.from(
  `<svg xmlns="http://www.w3.org/2000/svg" width="360" height="120"><rect width="360" height="120" fill="#fff"/>
   <path d="M20 80 C 60 10, 90 110, 130 60 S 200 20, 230 70 S 300 90, 340 40" stroke="#123" stroke-width="4" fill="none"/></svg>`,
)).png().toBuffer();

describe.each(backends)('proof of delivery in the console (Chromium, %s)', (backend) => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let A: string;
  const stopId = `stop-pod-${crypto.randomBytes(4).toString('hex')}`;
  let photoSha = '';
  let photoBase64Head = '';
  const saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-pod-'));
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer(backend, { mfaRequiredRoles: new Set(), adminWithoutMfa: true });
    A = (await buildLocation(server.ctx, { name: 'Riverside Depot' })).id;
    const office = await Office.at(server, [A], 'manager');
    const routeId = await office.createRoute(A, 'Riverside 1');
    await office.expectApplied([{
      id: crypto.randomUUID(), type: 'stop.create', locationId: A, createdAt: Date.now(), stopId, routeId, sequence: 0,
      customerName: 'Kundin Proof', address: '4 Birkenallee, Leipzig', phone: null, notes: '', coordinates: door, barcodes: ['PKG-7781'],
      window: { start: 1_800_000_000_000, end: 1_800_003_600_000 },
    }]);
    // The route's driver, with a session of their own: proofs come in through the capture API.
    const driver = await buildUser(server.ctx, { role: 'driver', locationIds: [A], displayName: 'Dana Driver' });
    await server.ctx.db.insertInto('drivers').values({ id: 'drv-pod-1', location_id: A, name: 'Dana Driver', user_id: driver.id }).execute();
    await server.ctx.db.updateTable('routes').set({ driver_id: 'drv-pod-1' }).where('id', '=', routeId).execute();
    const token = (await restSignIn(server.url, server.ctx, driver)).tokens.accessToken;
    const capture = async (kind: string, body: Buffer | object, query = '', contentType = 'application/json') => {
      const res = await fetch(`${server.url}/api/v1/stops/${stopId}/proof/${kind}${query}`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
        body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`capture ${kind}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { proof: { id: string; file: { sha256: string } | null } };
    };
    const photo = await capture('photo', await parcelPhoto(), `?lat=${door.lat}&lng=${door.lng}&accuracyM=8`, 'image/jpeg');
    photoSha = photo.proof.file!.sha256;
    await capture('signature', await signature(), '', 'image/png');
    await capture('scan', { barcode: 'PKG-7781' });
    // A stamp about 2 km away: the proof is marked suspicious.
    await capture('gps', { gps: { lat: door.lat + 0.018, lng: door.lng, accuracyM: 12 } });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
    fs.rmSync(saveDir, { recursive: true, force: true });
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  async function consoleOf(user: BuiltUser, podOfflineCache = false): Promise<ConsolePage & { install: Installation }> {
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    const host = await startTestHost({
      serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
      service: { chooseSavePath: ({ fileName }) => Promise.resolve(path.join(saveDir, fileName)), podOfflineCache },
    });
    cleanup.push(() => host.close());
    const c = await openConsole(browser, host);
    pages.push(c);
    await signIn(c.page, { username: user.username, password: user.password });
    await waitForBoard(c.page);
    return Object.assign(c, { install });
  }

  const audited = (userId: string, action: string) =>
    server.ctx.db.selectFrom('audit_log').select(['target_id', 'outcome']).where('action', '=', action).where('actor_user_id', '=', userId).execute();

  it('an admin sees the proofs, opens the photo from memory (audited), exports the sealed bundle and asks for a deletion that waits for approval; nothing of the image is stored locally', async () => {
    const admin = await buildUser(server.ctx, { role: 'admin', locationIds: [A], displayName: 'Ada Marsh' });
    const c = await consoleOf(admin);
    await stopRow(c.page, stopId).click();
    const proofs = c.page.getByTestId('proofs');
    await eventually(() => proofs.getAttribute('data-access')).toBe('full');
    await eventually(() => proofs.getByTestId('proof-item').count()).toBe(4);
    expect(await proofs.getByTestId('proofs-summary').textContent()).toContain('Proof recorded: photo, signature, parcel scan, gps stamp');
    expect(await proofs.getByTestId('proofs-suspicious').count()).toBe(1);
    const gps = proofs.locator('[data-testid="proof-item"][data-kind="gps"]');
    expect(await gps.getByTestId('proof-suspicious').count()).toBe(1);
    expect(await proofs.locator('[data-testid="proof-item"][data-kind="barcode"]').textContent()).toContain('PKG-7781 · 1 of 1 parcels scanned');
    // Listing is not viewing: no file was asked for yet.
    expect(await audited(admin.id, 'pod.view')).toEqual([]);

    const photo = proofs.locator('[data-testid="proof-item"][data-kind="photo"]');
    const photoId = (await photo.getAttribute('data-proof-id'))!;
    await photo.getByTestId('proof-show').click();
    const img = photo.getByTestId('proof-image');
    await eventually(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    expect(await img.getAttribute('src')).toMatch(/^blob:/);
    await proofs.locator('[data-testid="proof-item"][data-kind="signature"]').getByTestId('proof-show').click();
    await eventually(() => proofs.getByTestId('proof-image').count()).toBe(2);
    await eventually(() => audited(admin.id, 'pod.view')).toHaveLength(2);
    expect((await audited(admin.id, 'pod.view')).find((e) => e.target_id === photoId)?.outcome).toBe('ok');
    await proofs.scrollIntoViewIfNeeded();
    if (backend === 'sqlite') await c.screenshot('73-console-proof-view');

    // The sealed dispute bundle, saved where the user chose; the export is audited.
    await proofs.getByTestId('proof-export').click();
    await eventually(() => proofs.getByTestId('proof-exported').textContent()).toContain(`proof-bundle-${stopId}.zip`);
    const zip = fs.readFileSync(path.join(saveDir, `proof-bundle-${stopId}.zip`));
    expect(zip.subarray(0, 4).toString('latin1')).toBe('PK\u0003\u0004');
    expect(await audited(admin.id, 'pod.export')).toEqual([{ target_id: stopId, outcome: 'ok' }]);

    // Deleting asks a second person: the proof stays readable while the request waits.
    await photo.getByTestId('proof-delete').click();
    await photo.getByTestId('proof-delete-reason').fill('Photo shows a neighbour\u2019s face');
    await photo.getByTestId('proof-delete-send').click();
    await photo.getByTestId('proof-delete-waiting').waitFor();
    const request = await server.ctx.db.selectFrom('approval_requests').selectAll().where('kind', '=', 'pod.delete').executeTakeFirstOrThrow();
    expect(request.status).toBe('pending');
    const still = await server.ctx.db.selectFrom('proofs').select(['wrapped_key', 'deleted_at']).where('id', '=', photoId).executeTakeFirstOrThrow();
    expect(still.wrapped_key).not.toBeNull();
    expect(still.deleted_at).toBeNull();

    // The default policy keeps no proof file on this computer: not the image, not its hash.
    const stored = await databaseText(c.install, 'base64');
    const served = await fetch(`${server.url}/api/v1/proofs/${photoId}/file`, { headers: { authorization: `Bearer ${(await restSignIn(server.url, server.ctx, admin)).tokens.accessToken}` } });
    photoBase64Head = Buffer.from(await served.arrayBuffer()).subarray(0, 48).toString('base64');
    expect(stored).not.toContain(photoSha);
    expect(stored).not.toContain(photoBase64Head);
  });

  it('finance sees that a proof exists and nothing of it: no list, no image, no request for a file', async () => {
    const finance = await buildUser(server.ctx, { role: 'finance', locationIds: [A] });
    const c = await consoleOf(finance);
    await stopRow(c.page, stopId).click();
    const proofs = c.page.getByTestId('proofs');
    await eventually(() => proofs.getAttribute('data-access')).toBe('summary');
    expect(await proofs.getByTestId('proofs-summary').textContent()).toContain('Proof recorded: photo, signature');
    await proofs.getByTestId('proofs-summary-only').waitFor();
    expect(await proofs.getByTestId('proof-item').count()).toBe(0);
    expect(await c.page.getByTestId('proof-show').count()).toBe(0);
    expect(await c.page.getByTestId('proof-export').count()).toBe(0);
    await proofs.scrollIntoViewIfNeeded();
    if (backend === 'sqlite') await c.screenshot('74-console-proof-summary-only');
    // Asked directly through the bridge, main refuses the file and the bundle (the server would too).
    const direct = await c.page.evaluate(async (id) => {
      const bridge = (window as unknown as { depotline: Record<string, (a: unknown) => Promise<{ ok: boolean; error?: { code: string } }>> }).depotline;
      return [await bridge['exportProofBundle']!({ stopId: id }), await bridge['proofFile']!({ stopId: id, proofId: 'proof-unknown' })].map((r) => r.error?.code ?? 'ok');
    }, stopId);
    expect(direct).toEqual(['forbidden', 'forbidden']);
    expect(await audited(finance.id, 'pod.view')).toEqual([]);
  });

  it('only where the managed policy allows an offline cache does the console keep the proofs it showed, in its encrypted database', async () => {
    const manager = await buildUser(server.ctx, { role: 'manager', locationIds: [A] });
    const c = await consoleOf(manager, true);
    await stopRow(c.page, stopId).click();
    const photo = c.page.locator('[data-testid="proof-item"][data-kind="photo"]');
    await photo.getByTestId('proof-show').click();
    await eventually(() => photo.getByTestId('proof-image').evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await eventually(async () => (await databaseText(c.install, 'base64')).includes(photoBase64Head)).toBe(true);
  });
});
