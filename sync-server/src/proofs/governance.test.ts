import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin } from '../../test/admin-cli';
import { backends } from '../../test/harness';
import { buildWorld, insertUser, openSession, rest, type World } from '../../test/world';
import { createGrant } from '../access/grants';
import { verifyBundle } from './bundle-format';
import { openProof, ProofSealError, sealProof } from './envelope';
import { insertProof, loadProof, newProofId } from './records';
import { proofFileStore, proofStorageKey } from './storage';

/**
 * Proof governance on a real server: the sealed dispute bundle (`pod.export`), redacted copies
 * (`pod.annotate`) and deletion through a second admin's approval (`pod.delete`), per role, each
 * audited. Proofs are seeded through the storage contracts (seal, store, row) as capture writes them.
 */

const width = 240;
const height = 160;

/** A JPEG of random noise: any blurring shows as a collapse of the pixel variance. */
async function noisyJpeg(): Promise<Uint8Array> {
  const raw = crypto.randomBytes(width * height * 3);
  return new Uint8Array(await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer());
}

/** Standard deviation of the grey values inside a rectangle of the image. */
async function spread(image: Uint8Array, rect: { left: number; top: number; width: number; height: number }): Promise<number> {
  const { data } = await sharp(image).extract(rect).greyscale().raw().toBuffer({ resolveWithObject: true });
  const mean = data.reduce((a, b) => a + b, 0) / data.length;
  return Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length);
}

describe.each(backends)('proof governance (%s)', (backend) => {
  let world: World;
  let admin2Token: string;
  let stopId: string;
  let photoId: string;
  let photo: Uint8Array;

  async function seedPhoto(stop: string, bytes: Uint8Array): Promise<string> {
    const { ctx } = world;
    const id = newProofId();
    const sealed = sealProof(ctx, bytes, id);
    await proofFileStore(ctx).put(proofStorageKey(id), sealed.ciphertext);
    await insertProof(ctx, ctx.db, {
      id, stopId: stop, locationId: world.A, kind: 'photo', capturedBy: { userId: world.users.driver.id, label: world.users.driver.username },
      deviceTime: ctx.now() - 2000, serverTime: ctx.now(), gps: { lat: 52.52, lng: 13.405, accuracyM: 8 }, distanceM: 12, suspicious: false,
      file: { contentType: 'image/jpeg', size: bytes.byteLength, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), wrappedKey: sealed.wrappedKey, storageKey: proofStorageKey(id) },
      detail: {},
    });
    return id;
  }

  async function download(token: string, stop: string) {
    const res = await fetch(`${world.server.url}/api/v1/stops/${stop}/proof-bundle`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
  }

  const auditOf = (action: string, targetId: string) => world.ctx.db.selectFrom('audit_log').selectAll()
    .where('action', '=', action).where('target_id', '=', targetId).where('outcome', '=', 'ok').orderBy('seq').execute();

  beforeAll(async () => {
    world = await buildWorld(backend, 2);
    const admin2 = await insertUser(world.ctx, 'admin-two');
    await createGrant(world.ctx, { kind: 'operator', actor: { userId: null, label: 'test', deviceId: null, ip: null } }, { userId: admin2, role: 'admin', locationIds: [world.A] });
    admin2Token = (await openSession(world.ctx, admin2)).token;
    stopId = world.stops.A1[0]!.id;
    photo = await noisyJpeg();
    photoId = await seedPhoto(stopId, photo);
  }, 120_000);
  afterAll(async () => world?.dispose());

  it('a manager downloads a sealed bundle that verifies offline, holds the photo as stored, and is audited', async () => {
    const res = await download(world.users.manager.token, stopId);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const verdict = verifyBundle(res.bytes, [world.ctx.checkpointKeys.signer]);
    expect(verdict).toMatchObject({ valid: true, header: { stopId, locationId: world.A } });
    const contents = unzipSync(res.bytes);
    expect(Buffer.from(contents[`files/${photoId}.jpg`]!).equals(Buffer.from(photo))).toBe(true);
    const proofs = JSON.parse(Buffer.from(contents['proofs.json']!).toString('utf8')) as { proofs: { id: string; gps: unknown; bundled: unknown }[] };
    expect(proofs.proofs).toEqual([expect.objectContaining({ id: photoId, gps: { lat: 52.52, lng: 13.405, accuracyM: 8 }, bundled: { path: `files/${photoId}.jpg` } })]);
    // The stop's notes and customer never enter a bundle.
    const text = Object.values(contents).map((b) => Buffer.from(b).toString('latin1')).join('\n');
    expect(text).not.toContain(world.stops.A1[0]!.notes);
    expect(text).not.toContain(world.stops.A1[0]!.customerName);
    const audited = await auditOf('pod.export', stopId);
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ outcome: 'ok', actor_user_id: world.users.manager.id, location_id: world.A });
    expect(JSON.parse(audited[0]!.details)).toMatchObject({ proofs: 1, files: 1, sha256: crypto.createHash('sha256').update(res.bytes).digest('hex') });
  });

  it('depotline-admin pod verify-bundle accepts it with the server key and refuses it after one changed byte', async () => {
    const res = await download(world.users.admin.token, stopId);
    const dir = world.server.env.dir;
    const good = path.join(dir, 'bundle.zip');
    fs.writeFileSync(good, res.bytes);
    // No --public-key: the checkpoint key of this install, read without opening the database.
    expect((await runAdmin(world.server.env, ['pod', 'verify-bundle', good])).code).toBe(0);
    const tampered = new Uint8Array(res.bytes);
    const at = Buffer.from(tampered).indexOf(Buffer.from(photo.subarray(100, 164)));
    expect(at).toBeGreaterThan(0);
    tampered[at + 7] = tampered[at + 7]! ^ 0x20;
    const bad = path.join(dir, 'bundle-changed.zip');
    fs.writeFileSync(bad, tampered);
    const refused = await runAdmin(world.server.env, ['pod', 'verify-bundle', bad, '--public-key', world.ctx.checkpointKeys.signer.verifierKey]);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(new RegExp(`files/${photoId}\\.jpg: its content differs`));

    // The operator writes the same bundle on the server host; audited as the OS user.
    const written = path.join(dir, 'operator-bundle.zip');
    expect((await runAdmin(world.server.env, ['pod', 'bundle', '--stop', stopId, '--out', written])).code).toBe(0);
    expect(verifyBundle(new Uint8Array(fs.readFileSync(written)), [world.ctx.checkpointKeys.signer]).valid).toBe(true);
    expect((await auditOf('pod.export', stopId)).some((e) => e.actor.startsWith('cli:'))).toBe(true);
    expect((await runAdmin(world.server.env, ['pod', 'bundle', '--stop', stopId, '--out', written])).code).toBe(1);
  });

  it('finance, reporting, dispatcher and driver cannot export, redact or delete; each refusal is audited; unknown ids are 403 too', async () => {
    for (const role of ['finance', 'reporting', 'dispatcher', 'driver'] as const) {
      const user = world.users[role];
      expect((await download(user.token, stopId)).status).toBe(403);
      expect((await rest(world, 'POST', `/proofs/${photoId}/redactions`, user.token, { regions: [{ x: 0, y: 0, width: 0.5, height: 0.5 }], reason: 'a face' })).status).toBe(403);
      expect((await rest(world, 'POST', `/proofs/${photoId}/delete`, user.token, { reason: 'wrong stop' })).status).toBe(403);
      const denied = await world.ctx.db.selectFrom('audit_log').select(['action']).where('actor_user_id', '=', user.id).where('outcome', '=', 'denied').execute();
      expect(denied.map((d) => d.action).sort()).toEqual(['pod.annotate', 'pod.delete', 'pod.export']);
    }
    // A manager may export and redact but not delete.
    expect((await rest(world, 'POST', `/proofs/${photoId}/delete`, world.users.manager.token, { reason: 'wrong stop' })).status).toBe(403);
    // Another depot's dispatcher learns nothing either.
    expect((await download(world.dispatcherB.token, stopId)).status).toBe(403);
    // Unknown ids get the same answer as a refusal: which ids exist is not told.
    expect((await download(world.users.admin.token, 'no-such-stop')).status).toBe(403);
    expect((await rest(world, 'POST', '/proofs/pod_nothing/delete', world.users.admin.token, { reason: 'wrong stop' })).status).toBe(403);
  });

  it('a redaction blurs the region in a sealed copy; the original stays sealed and unchanged; audited', async () => {
    const regions = [{ x: 0, y: 0, width: 0.5, height: 1 }];
    const made = await rest(world, 'POST', `/proofs/${photoId}/redactions`, world.users.manager.token, { regions, reason: 'a bystander\u2019s face' });
    expect(made.status).toBe(201);
    const copy = made.body!['proof'] as { id: string; derivedFrom: string; readable: boolean; file: { sha256: string } };
    expect(copy).toMatchObject({ derivedFrom: photoId, readable: true });
    const store = proofFileStore(world.ctx);
    const copyRow = (await loadProof(world.ctx.db, copy.id))!;
    const redacted = openProof(world.ctx, (await store.get(copyRow.storage_key!))!, copyRow.wrapped_key, copy.id);
    const left = { left: 0, top: 0, width: width / 2, height };
    const right = { left: width / 2 + 8, top: 0, width: width / 2 - 8, height };
    expect(await spread(redacted, left)).toBeLessThan((await spread(photo, left)) / 4);
    expect(await spread(redacted, right)).toBeGreaterThan((await spread(photo, right)) * 0.7);
    const originalRow = (await loadProof(world.ctx.db, photoId))!;
    const original = openProof(world.ctx, (await store.get(originalRow.storage_key!))!, originalRow.wrapped_key, photoId);
    expect(Buffer.from(original).equals(Buffer.from(photo))).toBe(true);
    expect((await auditOf('pod.annotate', photoId)).map((e) => JSON.parse(e.details) as Record<string, unknown>))
      .toEqual([expect.objectContaining({ copyId: copy.id, regions: 1, sha256: copy.file.sha256 })]);
    // A region outside the image is refused, nothing made.
    const bad = await rest(world, 'POST', `/proofs/${photoId}/redactions`, world.users.manager.token, { regions: [{ x: 0.8, y: 0, width: 0.5, height: 1 }], reason: 'a face' });
    expect(bad.status).toBe(400);
    expect(await world.ctx.db.selectFrom('proofs').select('id').where('derived_from', '=', photoId).execute()).toHaveLength(1);
  });

  it('deleting needs a second admin; approved, the key is gone and the file unreadable even with the row and the sealed bytes', async () => {
    const store = proofFileStore(world.ctx);
    const before = (await loadProof(world.ctx.db, photoId))!;
    const sealedBytes = (await store.get(before.storage_key!))!;
    const asked = await rest(world, 'POST', `/proofs/${photoId}/delete`, world.users.admin.token, { reason: 'photo of the wrong house' });
    expect(asked.status).toBe(202);
    const approval = (asked.body!['approval'] as { id: string; status: string; kind: string });
    expect(approval).toMatchObject({ status: 'pending', kind: 'pod.delete' });
    // Nothing changed yet; the requester cannot approve their own request.
    expect((await loadProof(world.ctx.db, photoId))!.wrapped_key).not.toBeNull();
    expect((await rest(world, 'POST', `/approvals/${approval.id}/approve`, world.users.admin.token, {})).status).toBe(403);
    const approved = await rest(world, 'POST', `/approvals/${approval.id}/approve`, admin2Token, { note: 'checked' });
    expect(approved).toMatchObject({ status: 200, body: { approval: { status: 'approved' } } });

    const after = (await loadProof(world.ctx.db, photoId))!;
    expect(after).toMatchObject({ wrapped_key: null, deleted_by: world.users.admin.username });
    expect(after.deleted_at).not.toBeNull();
    expect(await store.get(before.storage_key!)).toBeNull();
    expect(() => openProof(world.ctx, sealedBytes, after.wrapped_key, photoId)).toThrow(ProofSealError);
    // The redacted copy went with it.
    const copies = await world.ctx.db.selectFrom('proofs').selectAll().where('derived_from', '=', photoId).execute();
    expect(copies.map((c) => c.wrapped_key)).toEqual([null]);
    const deletions = await world.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'pod.delete').where('outcome', '=', 'ok').execute();
    expect(deletions.map((d) => d.target_id).sort()).toEqual([photoId, copies[0]!.id].sort());
    expect(deletions.every((d) => d.actor_user_id === world.users.admin.id && (JSON.parse(d.details) as { approvalId: string }).approvalId === approval.id)).toBe(true);

    // The bundle still tells that the proof existed, without the file.
    const bundle = await download(world.users.manager.token, stopId);
    expect(verifyBundle(bundle.bytes, [world.ctx.checkpointKeys.signer]).valid).toBe(true);
    const contents = unzipSync(bundle.bytes);
    expect(Object.keys(contents).filter((p) => p.startsWith('files/'))).toEqual([]);
    const listed = JSON.parse(Buffer.from(contents['proofs.json']!).toString('utf8')) as { proofs: { id: string; readable: boolean }[] };
    expect(listed.proofs.find((p) => p.id === photoId)).toMatchObject({ readable: false });
    const audit = Buffer.from(contents['audit.jsonl']!).toString('utf8');
    expect(audit).toContain('"action":"pod.delete"');
    // A second request for the same proof is refused: it is deleted already.
    expect((await rest(world, 'POST', `/proofs/${photoId}/delete`, world.users.admin.token, { reason: 'again please' })).status).toBe(409);
  });

  it('deleting with keepCopies takes the unblurred original and leaves its redacted copy readable', async () => {
    const otherStop = world.stops.A1[1]!.id;
    const original = await seedPhoto(otherStop, await noisyJpeg());
    const made = await rest(world, 'POST', `/proofs/${original}/redactions`, world.users.admin.token, { regions: [{ x: 0.1, y: 0.1, width: 0.3, height: 0.3 }], reason: 'a bystander' });
    const copyId = (made.body!['proof'] as { id: string }).id;
    const asked = await rest(world, 'POST', `/proofs/${original}/delete`, world.users.admin.token, { reason: 'keep only the blurred photo', keepCopies: true });
    expect(asked.status).toBe(202);
    const approval = asked.body!['approval'] as { id: string; summary: string; change: Record<string, unknown> };
    expect(approval.change).toEqual({ proofId: original, keepCopies: true });
    expect(approval.summary).toMatch(/the 1 redacted copy made from it stays/);
    expect((await rest(world, 'POST', `/approvals/${approval.id}/approve`, admin2Token, {})).status).toBe(200);
    expect((await loadProof(world.ctx.db, original))!.wrapped_key).toBeNull();
    const copy = (await loadProof(world.ctx.db, copyId))!;
    expect(copy.deleted_at).toBeNull();
    const opened = openProof(world.ctx, (await proofFileStore(world.ctx).get(copy.storage_key!))!, copy.wrapped_key, copyId);
    expect(crypto.createHash('sha256').update(opened).digest('hex')).toBe(copy.sha256);
  });
});
