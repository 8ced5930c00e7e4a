import crypto from 'node:crypto';
import fs from 'node:fs';
import { strFromU8, unzipSync } from 'fflate';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, rest, type World } from '../../test/world';
import { systemActor } from '../audit/audit-log';
import { buildProofBundle } from './bundle';
import { destroyProof } from './deletion';
import { sealProof } from './envelope';
import { insertProof, loadProof, newProofId } from './records';
import { proofFileStore, proofStorageKey } from './storage';

/**
 * What a redaction protects, on a real server over HTTP, on SQLite and PostgreSQL: once a blurred
 * copy exists, a dispatcher (`pod.view`, not `pod.annotate`) gets the copy and not the unblurred
 * original, through the file endpoint or a bundle. And on SQLite, a deletion's destroyed wrapped key
 * does not stay behind in the -wal file.
 */

describe.each(backends)('redacted proof and deletion leftovers (%s)', (backend) => {
  let world: World;

  async function seedPhoto(stop: string): Promise<{ id: string; wrappedKey: string }> {
    const { ctx } = world;
    const bytes = new Uint8Array(await sharp(crypto.randomBytes(96 * 64 * 3), { raw: { width: 96, height: 64, channels: 3 } }).jpeg().toBuffer());
    const id = newProofId();
    const sealed = sealProof(ctx, bytes, id);
    await proofFileStore(ctx).put(proofStorageKey(id), sealed.ciphertext);
    await insertProof(ctx, ctx.db, {
      id, stopId: stop, locationId: world.A, kind: 'photo', capturedBy: { userId: world.users.driver.id, label: world.users.driver.username },
      deviceTime: null, serverTime: ctx.now(), gps: null, distanceM: null, suspicious: false,
      file: { contentType: 'image/jpeg', size: bytes.byteLength, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), wrappedKey: sealed.wrappedKey, storageKey: proofStorageKey(id) },
      detail: {},
    });
    return { id, wrappedKey: sealed.wrappedKey };
  }

  const fileStatus = async (proofId: string, token: string) =>
    (await fetch(`${world.server.url}/api/v1/proofs/${proofId}/file`, { headers: { authorization: `Bearer ${token}` } })).status;

  beforeAll(async () => {
    world = await buildWorld(backend, 2);
  }, 120_000);
  afterAll(async () => world?.dispose());

  it('after a redaction the original is served only to pod.annotate holders; bundles carry the copy instead for the others', async () => {
    const stopId = world.stops.A1[0]!.id;
    const { id: original } = await seedPhoto(stopId);
    const dispatcher = world.users.dispatcher.token;
    expect(await fileStatus(original, dispatcher)).toBe(200);
    const made = await rest(world, 'POST', `/proofs/${original}/redactions`, world.users.manager.token, { regions: [{ x: 0, y: 0, width: 0.5, height: 0.5 }], reason: 'a bystander' });
    expect(made.status).toBe(201);
    const copy = (made.body!['proof'] as { id: string }).id;

    // The dispatcher still sees both listed, opens the copy, and is refused the original (audited).
    const listed = await rest(world, 'GET', `/stops/${stopId}/proofs`, dispatcher);
    expect((listed.body!['proofs'] as { id: string }[]).map((p) => p.id)).toEqual(expect.arrayContaining([original, copy]));
    expect(await fileStatus(copy, dispatcher)).toBe(200);
    const refused = await fetch(`${world.server.url}/api/v1/proofs/${original}/file`, { headers: { authorization: `Bearer ${dispatcher}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/redacted copy of this proof exists/);
    const denied = await world.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'pod.view').where('target_id', '=', original).where('outcome', '=', 'denied').execute();
    expect(denied).toHaveLength(1);
    expect(JSON.parse(denied[0]!.details)).toMatchObject({ permission: 'pod.annotate' });
    // Those who may redact still open the original.
    expect(await fileStatus(original, world.users.manager.token)).toBe(200);

    // A bundle for an exporter without pod.annotate holds the copy's file, not the original's.
    const withheld = unzipSync((await buildProofBundle(world.ctx, world.ctx.db, { id: stopId, locationId: world.A }, world.ctx.now(), { originals: false })).zip);
    expect(Object.keys(withheld)).toContain(`files/${copy}.jpg`);
    expect(Object.keys(withheld)).not.toContain(`files/${original}.jpg`);
    const records = (JSON.parse(strFromU8(withheld['proofs.json']!)) as { proofs: { id: string; bundled: { path: string | null; reason?: string } }[] }).proofs;
    expect(records.find((r) => r.id === original)?.bundled).toMatchObject({ path: null, reason: expect.stringMatching(/redacted copy is bundled instead/) as unknown });
    // The manager's download (pod.annotate) holds both.
    const res = await fetch(`${world.server.url}/api/v1/stops/${stopId}/proof-bundle`, { headers: { authorization: `Bearer ${world.users.manager.token}` } });
    expect(res.status).toBe(200);
    const full = unzipSync(new Uint8Array(await res.arrayBuffer()));
    expect(Object.keys(full)).toEqual(expect.arrayContaining([`files/${copy}.jpg`, `files/${original}.jpg`]));
    const exported = await world.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'pod.export').where('target_id', '=', stopId).execute();
    expect(JSON.parse(exported.at(-1)!.details)).toMatchObject({ originals: true });
  });

  it.runIf(backend === 'sqlite')('after a deletion commits, the destroyed wrapped key is not left in the SQLite -wal file', async () => {
    const { id, wrappedKey } = await seedPhoto(world.stops.A1[1]!.id);
    const secret = Buffer.from(wrappedKey.split('.')[2]!);
    const dbFile = world.server.env.sqliteFile!;
    await world.ctx.db.transaction().execute((trx) => destroyProof(world.ctx, trx, systemActor, { proofId: id }, world.ctx.now(), 'approval-test'));
    expect((await loadProof(world.ctx.db, id))!.wrapped_key).toBeNull();
    const holds = (file: string) => fs.existsSync(file) && fs.readFileSync(file).includes(secret);
    await expect.poll(() => holds(`${dbFile}-wal`), { timeout: 20_000 }).toBe(false);
    expect(holds(dbFile)).toBe(false);
  });
});
