import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { StopProofs, ProofCaptured, proofSha256Header } from '@depotline/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { startReceiver } from '../../test/webhook-receiver';
import { registerIntegration, subscribe, webhookTestSettings } from '../../test/webhook-world';
import { buildWorld, rest, type World } from '../../test/world';
import { encryptStopPii } from '../sync/stop-pii';
import { openProof } from './envelope';
import { proofFileStore } from './storage';

/**
 * The capture API as a driver's device uses it, on a real server over real HTTP, on SQLite and
 * PostgreSQL: each proof type, the driver's own stops only, and bad input (a script sent as a
 * photo, an oversized upload, a decompression bomb, another order's barcode, a GPS stamp on the
 * other side of the world) answered clearly with nothing stored.
 */

const home = { lat: 52.52, lng: 13.405 };

async function jpegWithExif(marker: string): Promise<Buffer> {
  const image = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .jpeg().withExif({ IFD0: { Copyright: marker, ImageDescription: marker } }).toBuffer();
  // Bytes appended after the image (a classic polyglot) must not survive either.
  return Buffer.concat([image, Buffer.from(`<script>${marker}</script>`)]);
}

const signaturePng = () => sharp({ create: { width: 120, height: 40, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();

/** A PNG whose header claims 20,000 x 20,000 pixels with a tiny body: a decompression bomb. */
function pngBomb(): Buffer {
  const crc32 = (buf: Buffer) => {
    let crc = 0xffffffff;
    for (const byte of buf) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(20_000, 0);
  ihdr.writeUInt32BE(20_000, 4);
  ihdr[8] = 8;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(1000))), chunk('IEND', Buffer.alloc(0))]);
}

describe.each(backends)('proof of delivery capture (%s)', (backend) => {
  let w: World;
  let own: string;
  let ownSecond: string;
  let others: string;

  beforeAll(async () => {
    w = await buildWorld(backend, 2);
    own = w.stops.A1[0]!.id;
    ownSecond = w.stops.A1[1]!.id;
    others = w.stops.A2[0]!.id;
    await w.ctx.db.updateTable('stops').set({ ...encryptStopPii(w.ctx, own, { coordinates: home }), barcodes: JSON.stringify(['PKG-1', 'PKG-2']) }).where('id', '=', own).execute();
    await w.ctx.db.updateTable('stops').set(encryptStopPii(w.ctx, ownSecond, { coordinates: home })).where('id', '=', ownSecond).execute();
    await w.ctx.db.updateTable('stops').set({ barcodes: JSON.stringify(['PKG-OTHER']) }).where('id', '=', others).execute();
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const driver = () => w.users.driver.token;
  const upload = async (stopId: string, kind: string, body: Buffer, query = '', token = driver(), contentType = 'image/jpeg') => {
    const res = await fetch(`${w.server.url}/api/v1/stops/${stopId}/proof/${kind}${query}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const proofCount = async () => Number((await w.ctx.db.selectFrom('proofs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const storedFiles = () => {
    const dir = path.join(w.ctx.config.proofs.dir, 'proofs');
    return fs.existsSync(dir) ? fs.readdirSync(dir).length : 0;
  };
  const auditOf = (action: string) => w.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('seq').execute();

  it('captures a photo: type sniffed, re-encoded without EXIF or appended bytes, sealed at rest under its own key, device and server time, GPS distance', async () => {
    const marker = `exif-${Date.now()}`;
    const res = await upload(own, 'photo', await jpegWithExif(marker), `?deviceTime=1700000000000&lat=52.5201&lng=13.4051&accuracyM=8`, driver(), 'application/octet-stream');
    expect(res.status).toBe(201);
    const { proof } = ProofCaptured.parse(res.body);
    expect(proof).toMatchObject({ kind: 'photo', stopId: own, deviceTime: 1_700_000_000_000, suspicious: false, readable: true, capturedBy: w.users.driver.username });
    expect(proof.distanceM).toBeLessThan(30);
    expect(proof.file?.contentType).toBe('image/jpeg');

    const row = await w.ctx.db.selectFrom('proofs').selectAll().where('id', '=', proof.id).executeTakeFirstOrThrow();
    const sealed = await proofFileStore(w.ctx).get(row.storage_key!);
    // At rest: neither the image nor the marker is readable in the file store or the row.
    expect(Buffer.from(sealed!).includes(Buffer.from([0xff, 0xd8, 0xff]))).toBe(false);
    expect(JSON.stringify(row)).not.toContain('52.52');
    const opened = Buffer.from(openProof(w.ctx, sealed!, row.wrapped_key, row.id));
    expect(opened.includes(Buffer.from(marker))).toBe(false);
    expect((await sharp(opened).metadata()).exif).toBeUndefined();
    // Another proof's id does not open it (bound as associated data).
    expect(() => openProof(w.ctx, sealed!, row.wrapped_key, 'pod_other')).toThrow();

    // The console's view: the file as stored, its hash in a header, the view audited.
    const file = await fetch(`${w.server.url}/api/v1/proofs/${proof.id}/file`, { headers: { authorization: `Bearer ${w.users.dispatcher.token}` } });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/jpeg');
    expect(file.headers.get('cache-control')).toBe('no-store');
    expect(file.headers.get(proofSha256Header)).toBe(proof.file!.sha256);
    expect(Buffer.from(await file.arrayBuffer()).equals(opened)).toBe(true);
    const views = await auditOf('pod.view');
    expect(views.at(-1)).toMatchObject({ outcome: 'ok', target_id: proof.id, actor: w.users.dispatcher.username });
    const captured = (await auditOf('pod.capture')).at(-1)!;
    expect(captured.details).not.toContain('52.52');
  });

  it('captures a signature (PNG only), a matching barcode scan and a GPS stamp; the list shows them with summary', async () => {
    expect((await upload(own, 'signature', await signaturePng(), '', driver(), 'image/png')).status).toBe(201);
    const wrongFormat = await upload(own, 'signature', await jpegWithExif('sig'));
    expect(wrongFormat.status).toBe(415);
    expect(String((wrongFormat.body.error as { message: string }).message)).toMatch(/PNG/);

    const scan = await rest(w, 'POST', `/stops/${own}/proof/scan`, driver(), { barcode: 'PKG-1', deviceTime: 1_700_000_000_500 });
    expect(scan.status).toBe(201);
    expect((scan.body!.proof as { detail: unknown }).detail).toMatchObject({ barcode: 'PKG-1', scanned: 1, expected: 2 });
    const gps = await rest(w, 'POST', `/stops/${own}/proof/gps`, driver(), { gps: { lat: 52.5203, lng: 13.4049, accuracyM: 12 } });
    expect(gps.status).toBe(201);

    const listed = StopProofs.parse((await rest(w, 'GET', `/stops/${own}/proofs`, w.users.manager.token)).body);
    expect(listed.proofs.map((p) => p.kind)).toEqual(expect.arrayContaining(['photo', 'signature', 'barcode', 'gps']));
    expect(listed.proofs.find((p) => p.kind === 'gps')!.gps).toMatchObject({ lat: 52.5203, lng: 13.4049, accuracyM: 12 });
    expect(listed.summary).toMatchObject({ present: true, suspicious: false });
    // The capturing driver lists what was captured, without positions.
    const ownList = StopProofs.parse((await rest(w, 'GET', `/stops/${own}/proofs`, driver())).body);
    expect(ownList.proofs.every((p) => p.gps === undefined)).toBe(true);
  });

  it('finance and reporting see that proof exists, never its content', async () => {
    for (const role of ['finance', 'reporting'] as const) {
      const token = w.users[role].token;
      expect((await rest(w, 'GET', `/stops/${own}/proof-summary`, token)).body).toMatchObject({ summary: { present: true } });
      expect((await rest(w, 'GET', `/stops/${own}/proofs`, token)).status).toBe(403);
      const proofId = (await w.ctx.db.selectFrom('proofs').select('id').where('kind', '=', 'photo').executeTakeFirstOrThrow()).id;
      expect((await rest(w, 'GET', `/proofs/${proofId}/file`, token)).status).toBe(403);
    }
    const denied = (await auditOf('pod.view')).filter((e) => e.outcome === 'denied');
    expect(denied.map((e) => e.actor)).toEqual(expect.arrayContaining(['finance-a', 'reporting-a']));
  });

  it('a driver cannot attach proof to another driver\u2019s stop, nor a dispatcher capture at all', async () => {
    const before = await proofCount();
    expect((await upload(others, 'photo', await jpegWithExif('x'))).status).toBe(403);
    expect((await rest(w, 'POST', `/stops/${others}/proof/gps`, driver(), { gps: { ...home, accuracyM: 5 } })).status).toBe(403);
    expect((await rest(w, 'POST', `/stops/${own}/proof/gps`, w.users.dispatcher.token, { gps: { ...home, accuracyM: 5 } })).status).toBe(403);
    // An unknown stop answers the same.
    expect((await rest(w, 'POST', `/stops/no-such-stop/proof/gps`, driver(), { gps: { ...home, accuracyM: 5 } })).status).toBe(403);
    expect(await proofCount()).toBe(before);
    const denied = (await auditOf('pod.capture')).filter((e) => e.outcome === 'denied');
    expect(denied.map((e) => e.target_id)).toEqual(expect.arrayContaining([others, own]));
  });

  it('refuses bad input clearly and stores nothing', async () => {
    const before = { proofs: await proofCount(), files: storedFiles() };
    const script = await upload(own, 'photo', Buffer.from('#!/bin/sh\nrm -rf / # <script>alert(1)</script>\n'), '', driver(), 'image/jpeg');
    expect(script.status).toBe(415);
    expect(script.body.error).toMatchObject({ code: 'unsupported_media_type' });
    const bomb = await upload(own, 'photo', pngBomb(), '', driver(), 'image/png');
    expect(bomb.status).toBe(413);
    expect(String((bomb.body.error as { message: string }).message)).toMatch(/20000 x 20000/);
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic'), Buffer.alloc(4), Buffer.from('mif1heic'), Buffer.alloc(64)]);
    const heicRes = await upload(own, 'photo', heic, '', driver(), 'image/heic');
    expect(heicRes.status).toBe(415);
    expect(String((heicRes.body.error as { message: string }).message)).toMatch(/HEIC/);
    const json = await rest(w, 'POST', `/stops/${own}/proof/photo`, driver(), { image: 'base64...' });
    expect(json.status).toBe(400);

    const foreign = await rest(w, 'POST', `/stops/${own}/proof/scan`, driver(), { barcode: 'PKG-OTHER' });
    expect(foreign.status).toBe(422);
    expect(foreign.body!.error).toMatchObject({ code: 'barcode_mismatch' });
    expect(String((foreign.body!.error as { message: string }).message)).toMatch(/another order/);
    expect((await rest(w, 'POST', `/stops/${own}/proof/scan`, driver(), { barcode: 'PKG-NOWHERE' })).status).toBe(422);
    expect((await rest(w, 'POST', `/stops/${own}/proof/scan`, driver(), { barcode: 'PKG-1', documentNumber: 'X' })).status).toBe(400);

    const alertsOfOwn = async () => (await auditOf('security.alert')).filter((a) => a.target_id === own).length;
    const alertsBefore = await alertsOfOwn();
    const antipodes = await rest(w, 'POST', `/stops/${own}/proof/gps`, driver(), { gps: { lat: -52.52, lng: -166.595, accuracyM: 5 } });
    expect(antipodes.status).toBe(400);
    expect(String((antipodes.body!.error as { message: string }).message)).toMatch(/km from the stop/);
    expect((await rest(w, 'POST', `/stops/${own}/proof/gps`, driver(), { gps: { lat: 91, lng: 0, accuracyM: 5 } })).status).toBe(400);
    expect(await alertsOfOwn()).toBe(alertsBefore + 1);
    // A device sending far-away stamps again and again: refused each time, but one alert per stop and hour.
    for (let i = 0; i < 3; i++) expect((await rest(w, 'POST', `/stops/${own}/proof/gps`, driver(), { gps: { lat: -52.52, lng: -166.595, accuracyM: 5 } })).status).toBe(400);
    expect(await alertsOfOwn()).toBe(alertsBefore + 1);
    expect((await auditOf('pod.capture')).filter((a) => a.target_id === own && a.details.includes('gps_implausible')).length).toBeGreaterThanOrEqual(4);

    expect(await proofCount()).toBe(before.proofs);
    expect(storedFiles()).toBe(before.files);
  });

  it('refuses a 200 MB upload from its Content-Length before reading it', async () => {
    const before = await proofCount();
    const url = new URL(`${w.server.url}/api/v1/stops/${own}/proof/photo`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
        headers: { authorization: `Bearer ${driver()}`, 'content-type': 'image/jpeg', 'content-length': String(200 * 1024 * 1024) },
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (err) => (['ECONNRESET', 'EPIPE'].includes((err as NodeJS.ErrnoException).code ?? '') || err.message.includes('socket hang up') ? undefined : reject(err)));
      req.write(Buffer.alloc(64 * 1024));
    });
    expect(status).toBe(413);
    // Without a valid token the body is not read either: 401 at once.
    const unauthenticated = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
        headers: { authorization: 'Bearer forged.token', 'content-type': 'image/jpeg', 'content-length': String(5 * 1024 * 1024) },
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (err) => (['ECONNRESET', 'EPIPE'].includes((err as NodeJS.ErrnoException).code ?? '') || err.message.includes('socket hang up') ? undefined : reject(err)));
      req.write(Buffer.alloc(64 * 1024));
    });
    expect(unauthenticated).toBe(401);
    expect(await proofCount()).toBe(before);
    // The server keeps serving.
    expect((await rest(w, 'GET', `/stops/${own}/proof-summary`, driver())).status).toBe(200);
  });

  it('a GPS stamp far from the stop marks the proof suspicious and alerts the depot\u2019s managers and admins', async () => {
    const res = await rest(w, 'POST', `/stops/${ownSecond}/proof/gps`, driver(), { gps: { lat: 52.54, lng: 13.405, accuracyM: 10 }, deviceTime: 1 });
    expect(res.status).toBe(201);
    const { proof } = ProofCaptured.parse(res.body);
    expect(proof.suspicious).toBe(true);
    expect(proof.distanceM).toBeGreaterThan(2000);
    const notices = await w.ctx.db.selectFrom('security_alerts').select(['user_id', 'details']).where('kind', '=', 'pod_suspicious').execute();
    const told = new Set(notices.filter((n) => n.details.includes(proof.id)).map((n) => n.user_id));
    expect(told).toEqual(new Set([w.users.admin.id, w.users.manager.id]));
    expect(notices.every((n) => !n.details.includes('52.54'))).toBe(true);
    expect((await rest(w, 'GET', `/stops/${ownSecond}/proof-summary`, w.users.finance.token)).body).toMatchObject({ summary: { suspicious: true } });
  });

  it('tells integrations holding pod.read: pod.added with the proof id and kind, never the file or position', async () => {
    webhookTestSettings(w.ctx);
    const receiver = await startReceiver();
    try {
      const partner = await registerIntegration(w.ctx, `pod-partner-${Date.now()}`, [{ locationId: w.A, permissions: ['pod.read', 'status.read'] }]);
      await subscribe(w, partner, `${receiver.origin}/hooks`, ['pod.added']);
      const res = await rest(w, 'POST', `/stops/${ownSecond}/proof/gps`, driver(), { gps: { lat: 52.5204, lng: 13.4052, accuracyM: 3 } });
      expect(res.status).toBe(201);
      const { proof } = ProofCaptured.parse(res.body);
      await expect.poll(() => receiver.received.length, { timeout: 20_000 }).toBeGreaterThan(0);
      const body = JSON.parse(receiver.received[0]!.body) as { type: string; data: Record<string, unknown> };
      expect(body).toMatchObject({ type: 'pod.added', data: { stopId: ownSecond, proofId: proof.id, kind: 'gps', suspicious: false } });
      expect(receiver.received[0]!.body).not.toContain('52.5204');
    } finally {
      await receiver.close();
    }
  });

  it('refuses proof once the stop is delivered, failed or cancelled: 409, nothing stored, the refusal audited', async () => {
    const closed = ownSecond;
    const proofsOf = async () => (await w.ctx.db.selectFrom('proofs').select('id').where('stop_id', '=', closed).execute()).length;
    const before = await proofsOf();
    for (const status of ['delivered', 'failed', 'cancelled']) {
      await w.ctx.db.updateTable('stops').set({ status }).where('id', '=', closed).execute();
      const gps = await rest(w, 'POST', `/stops/${closed}/proof/gps`, driver(), { gps: { lat: 52.5201, lng: 13.4051, accuracyM: 5 } });
      expect(gps.status).toBe(409);
      expect(String((gps.body!.error as { message: string }).message)).toContain(`The stop is ${status}`);
      expect((await upload(closed, 'signature', await signaturePng(), '', driver(), 'image/png')).status).toBe(409);
    }
    expect(await proofsOf()).toBe(before);
    expect((await auditOf('pod.capture')).filter((a) => a.target_id === closed && a.details.includes('stop_closed')).length).toBe(6);
  });
});
