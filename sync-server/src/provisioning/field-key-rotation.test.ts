import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Change, PullResponse, PushResponse, Stop } from '@depotline/shared';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin } from '../../test/admin-cli';
import { buildUser, signIn } from '../../test/factories';
import { backends } from '../../test/harness';
import { buildWorld, mutationId, rest, type World } from '../../test/world';
import { aadOf, encryptedColumns } from '../crypto/encrypted-columns';
import { FieldCipher, keyId, keyIdOf } from '../crypto/field-cipher';
import { loadFieldKeys } from '../crypto/key-material';
import { type RotationResult, rotateFieldKey } from './field-key-rotation';
import { operatorActor } from './operator';

/**
 * Rotating the field key while the server runs (docs/operations.md, "Rotating the field key"):
 * interrupted and resumed, every value stays readable; a server write during the rotation is
 * never lost; at the end nothing readable is left under the old key, which then retires.
 */
describe.each(backends)('field key rotation (%s)', (backend) => {
  let w: World;
  let oldKeyFile: string;
  let newKeyFile: string;
  let newKey: Buffer;
  let rotationEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    w = await buildWorld(backend, 4);
    // The world runs on the key generated at first start; the operator makes a new one.
    oldKeyFile = path.join(w.server.env.dir, 'keys', 'field.key');
    newKeyFile = path.join(w.server.env.dir, 'field-2.key');
    expect((await runAdmin(w.server.env, ['keys', 'generate-field-key', '--out', newKeyFile])).code).toBe(0);
    expect(fs.statSync(newKeyFile).mode & 0o777).toBe(0o600);
    newKey = loadFieldKeys({ file: newKeyFile, previousFiles: [] }, oldKeyFile)[0]!;
    rotationEnv = { DEPOTLINE_FIELD_KEY_FILE: newKeyFile, DEPOTLINE_FIELD_KEY_PREVIOUS_FILES: oldKeyFile };
  });
  afterAll(async () => {
    await w?.dispose();
  });

  async function pullStops(): Promise<Stop[]> {
    const r = await rest(w, 'GET', `/locations/${w.A}/changes?after=0&limit=1000`, w.users.dispatcher.token);
    expect(r.status).toBe(200);
    return (r.body as unknown as PullResponse).changes.flatMap((c: Change) => (c.entity === 'stop' ? [c.data] : []));
  }

  async function keyIdsInUse(): Promise<Set<string | null>> {
    const ids = new Set<string | null>();
    for (const c of encryptedColumns) {
      const { rows } = await sql<{ v: string | null }>`select ${sql.ref(c.column)} as v from ${sql.table(c.table)}`.execute(w.ctx.db);
      for (const r of rows) if (r.v !== null) ids.add(keyIdOf(r.v));
    }
    return ids;
  }

  it('lists every encrypted column the database has', async () => {
    const tables = await w.ctx.db.introspection.getTables();
    const inDb = tables.flatMap((t) => t.columns.filter((c) => c.name.endsWith('_enc')).map((c) => `${t.name}.${c.name}`)).sort();
    expect(inDb).toEqual(encryptedColumns.map((c) => `${c.table}.${c.column}`).sort());
  });

  it('interrupted by a crash and by --max-batches, then resumed: every value readable, a concurrent write kept, the old key retired', async () => {
    const oldId = w.ctx.cipher.currentKeyId;
    const totpUser = await buildUser(w.ctx, { role: 'dispatcher', withTotp: true });
    const before = await pullStops();
    expect(before.length).toBe(8);

    // Step 1 of the procedure: the server restarts with the new key current and the old one
    // previous. (The running test server takes the same key ring.)
    w.ctx.cipher = new FieldCipher(loadFieldKeys({ file: newKeyFile, previousFiles: [oldKeyFile] }, oldKeyFile));
    expect(w.ctx.cipher.currentKeyId).toBe(keyId(newKey));

    // A first run crashes after its second batch. Between reading and writing its first batch,
    // a dispatcher edits the notes of a stop in that batch: that write must stand.
    const rotationCtx = { ...w.ctx, cipher: new FieldCipher(loadFieldKeys({ file: newKeyFile, previousFiles: [oldKeyFile] }, oldKeyFile)) };
    const editedNotes = `Ring twice ${crypto.randomBytes(3).toString('hex')}`;
    let editedStop: string | null = null;
    await expect(rotateFieldKey(rotationCtx, operatorActor(), {
      batchSize: 2,
      hooks: {
        beforeWrite: async (table, ids) => {
          if (table !== 'stops' || editedStop !== null) return;
          editedStop = ids[0]!;
          const r = await rest(w, 'POST', '/sync/push', w.users.dispatcher.token, {
            mutations: [{ id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.editNotes', stopId: editedStop, notes: editedNotes }],
          });
          expect((r.body as unknown as PushResponse).results[0]!.status).toBe('applied');
        },
        afterBatch: (n) => (n === 2 ? Promise.reject(new Error('power cut')) : Promise.resolve()),
      },
    })).rejects.toThrow('power cut');
    const progress = await w.ctx.db.selectFrom('field_key_rotations').selectAll().executeTakeFirstOrThrow();
    expect(progress).toMatchObject({ status: 'running', batches: 2, cursor_table: 'stops' });
    // Half-rotated: both keys in use, and every value still reads.
    expect(await keyIdsInUse()).toEqual(new Set([oldId, keyId(newKey)]));
    expect((await pullStops()).filter((s) => s.withheld)).toEqual([]);

    // The operator runs the command again, limited to one batch: it resumes, then pauses.
    const paused = await runAdmin(w.server.env, ['keys', 'rotate-field-key', '--batch-size', '2', '--max-batches', '1', '--json'], { extraEnv: rotationEnv });
    expect(paused.code).toBe(0);
    const pausedResult = JSON.parse(paused.stdout) as RotationResult;
    expect(pausedResult).toMatchObject({ outcome: 'paused', resumed: true, batches: 1, rotationId: progress.id });
    expect((await pullStops()).filter((s) => s.withheld)).toEqual([]);

    // And once more, to the end.
    const done = await runAdmin(w.server.env, ['keys', 'rotate-field-key', '--batch-size', '2', '--json'], { extraEnv: rotationEnv });
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    const result = JSON.parse(done.stdout) as RotationResult;
    expect(result).toMatchObject({ outcome: 'finished', resumed: true, retireKeyIds: [oldId], rotationId: progress.id });
    expect(result.usage).toMatchObject({ remaining: {}, unreadable: [] });
    expect(await keyIdsInUse()).toEqual(new Set([keyId(newKey)]));

    // Every value reads with the new key alone: the old key can go.
    const newOnly = new FieldCipher([newKey]);
    for (const c of encryptedColumns) {
      const { rows } = await sql<{ id: string; v: string | null }>`select id, ${sql.ref(c.column)} as v from ${sql.table(c.table)}`.execute(w.ctx.db);
      for (const r of rows) if (r.v !== null) expect(newOnly.tryDecrypt(r.v, aadOf(c, r.id)).ok).toBe(true);
    }
    w.ctx.cipher = newOnly;
    const after = await pullStops();
    expect(after.filter((s) => s.withheld)).toEqual([]);
    const byId = new Map(after.map((s) => [s.id, s]));
    for (const s of before) {
      const expected = s.id === editedStop ? { ...s, notes: editedNotes } : s;
      expect(byId.get(s.id)).toMatchObject({ customerName: expected.customerName, address: expected.address, phone: expected.phone, notes: expected.notes });
    }
    expect(editedStop).not.toBeNull();
    await expect(signIn(w.server.url, w.ctx, totpUser)).resolves.toMatchObject({ status: 'ok' });

    // Audited: start, each batch, the resumptions and the finish.
    const actions = (await w.ctx.db.selectFrom('audit_log').select('action').where('action', 'like', 'keys.%').orderBy('seq').execute()).map((r) => r.action);
    expect(actions[0]).toBe('keys.rotate_start');
    expect(actions.filter((a) => a === 'keys.rotate_resume')).toHaveLength(2);
    expect(actions.filter((a) => a === 'keys.rotate_batch').length).toBe(result.batches + 3);
    expect(actions[actions.length - 1]).toBe('keys.rotate_finish');
    // The dispatcher's edit was seen as a concurrent write and left alone, exactly once.
    const batches = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'keys.rotate_batch').execute();
    expect(batches.map((b) => (JSON.parse(b.details) as { skipped: number }).skipped).reduce((a, b) => a + b, 0)).toBe(1);

    // Nothing left to do: status agrees, and a further run finds no work.
    const status = await runAdmin(w.server.env, ['keys', 'status', '--json'], { extraEnv: { DEPOTLINE_FIELD_KEY_FILE: newKeyFile } });
    expect(JSON.parse(status.stdout)).toMatchObject({ currentKeyId: keyId(newKey), remaining: {}, unreadable: [] });
  });

  it('refuses to declare an old key retired while values under a key it does not have remain', async () => {
    // A value under a key id nobody configured: the operator forgot a previous key file.
    const stop = w.stops.A2[0]!;
    await w.ctx.db.updateTable('stops').set({ notes_enc: 'v1.0badc0de.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA' }).where('id', '=', stop.id).execute();
    const run = await runAdmin(w.server.env, ['keys', 'rotate-field-key', '--json'], { extraEnv: { DEPOTLINE_FIELD_KEY_FILE: newKeyFile } });
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as RotationResult;
    expect(result.outcome).toBe('incomplete');
    expect(result.message).toContain('0badc0de');
    expect(result.retireKeyIds).toEqual([]);
    // Reported like any value that does not decrypt.
    const alert = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'security.alert').where('target_id', '=', stop.id).executeTakeFirstOrThrow();
    expect(JSON.parse(alert.details)).toMatchObject({ values: [{ column: 'notes', reason: 'unknown_key' }] });
    const accepted = await runAdmin(w.server.env, ['keys', 'rotate-field-key', '--accept-unreadable', '--json'], { extraEnv: { DEPOTLINE_FIELD_KEY_FILE: newKeyFile } });
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject({ outcome: 'finished' });
  });

  it('bad arguments change nothing', async () => {
    expect((await runAdmin(w.server.env, ['keys', 'rotate-field-key', '--batch-size', '0'])).code).toBe(1);
    expect((await runAdmin(w.server.env, ['keys', 'generate-field-key', '--out', newKeyFile])).code).toBe(1);
    expect(fs.readFileSync(newKeyFile, 'utf8').trim()).toBe(newKey.toString('base64'));
  });
});
