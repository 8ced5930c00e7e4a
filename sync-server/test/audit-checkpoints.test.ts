import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointFileName, checkpointText, parseCheckpointText, writeOnce } from '../src/audit/checkpoint-files';
import { signCheckpoint, startCheckpointSchedule } from '../src/audit/checkpoints';
import { verifyAuditChain } from '../src/audit/verify';
import { verifyAuditLog } from '../src/audit/verify-checkpoints';
import { ConfigError, loadConfig } from '../src/config';
import type { ServerContext } from '../src/context';
import { KeyError } from '../src/crypto/key-material';
import { generateSignerKey, parseSignedNote, parseSignerKey, parseVerifierKey, signNote, verifyNoteSignature } from '../src/crypto/signed-note';
import { runAdmin, runAdminJson } from './admin-cli';
import { appendSampleEntries, removeAppendOnlyGuards, rewriteChainFrom } from './audit-chain';
import { backends, createTestContext, createTestEnv, type TestEnv } from './harness';

/*
 * "A tampered table plus a rewritten head is caught by the checkpoints." The insider below has
 * the owner's database access but not the checkpoint key: removes the append-only triggers,
 * rewrites rows with raw SQL, recomputes every later hash and the head, and edits or deletes
 * files in the checkpoint directory.
 */

const n = 30;

describe.each(backends)('signed audit checkpoints (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  let dir: string;
  const verify = () => verifyAuditLog(ctx.db, { dir, verifiers: [ctx.checkpointKeys.signer] });
  const auditCount = async () => Number((await ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  beforeEach(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    dir = ctx.config.checkpoints.dir;
    await appendSampleEntries(ctx.db, n);
  });
  afterEach(async () => {
    await ctx.db.destroy();
    await env.dispose();
  });

  it('signs the head in the checkpoint format with a key file kept outside the database (0600), one file per move, written once (0444)', async () => {
    const keyFile = path.join(env.dir, 'keys', 'checkpoint.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(parseSignerKey(fs.readFileSync(keyFile, 'utf8')).verifierKey).toBe(ctx.checkpointKeys.signer.verifierKey);

    const first = await signCheckpoint(ctx);
    const head = await ctx.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    expect(first).toMatchObject({ status: 'signed', checkpoint: { size: n, rootHash: head.hash }, file: checkpointFileName(n, ctx.checkpointKeys.signer.keyId) });
    const file = path.join(dir, checkpointFileName(n, ctx.checkpointKeys.signer.keyId));
    expect(fs.statSync(file).mode & 0o777).toBe(0o444);
    const note = parseSignedNote(fs.readFileSync(file, 'utf8'));
    expect(note.text).toBe(`${ctx.checkpointKeys.signer.name}\n${n}\n${Buffer.from(head.hash, 'hex').toString('base64')}\n`);
    expect(parseCheckpointText(note.text)).toEqual({ origin: ctx.checkpointKeys.signer.name, size: n, rootHash: head.hash });
    // Checkable by anyone holding only the printed verifier key.
    expect(verifyNoteSignature(note.text, note.signatures[0]!, parseVerifierKey(ctx.checkpointKeys.signer.verifierKey))).toBe(true);

    expect((await signCheckpoint(ctx)).status).toBe('unchanged');
    await appendSampleEntries(ctx.db, 1);
    expect(await signCheckpoint(ctx)).toMatchObject({ status: 'signed', checkpoint: { size: n + 1 } });
    expect(fs.readdirSync(dir).sort()).toEqual([checkpointFileName(n, ctx.checkpointKeys.signer.keyId), checkpointFileName(n + 1, ctx.checkpointKeys.signer.keyId)]);
    expect(await ctx.db.selectFrom('audit_checkpoints').select('size').orderBy('size').execute()).toEqual([{ size: n }, { size: n + 1 }]);
    expect(await verify()).toMatchObject({ ok: true, checkpoints: { matched: 2, latest: { size: n + 1 }, uncovered: 0, problems: [] } });
  });

  it('catches one entry rewritten with every later hash and the head recomputed, which the chain alone cannot', async () => {
    expect((await signCheckpoint(ctx)).status).toBe('signed');
    await appendSampleEntries(ctx.db, 5);
    await removeAppendOnlyGuards(ctx.db);
    await rewriteChainFrom(ctx.db, 12, '{"n":11,"to":"cancelled"}');

    // The forged chain is consistent: recomputing it from seq 1 finds nothing.
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: true, entries: n + 5 });
    expect(await verify()).toMatchObject({
      ok: false,
      chain: { ok: true },
      checkpoints: { matched: 0, problems: [{ kind: 'mismatch', size: n, detail: expect.stringContaining(`hash at seq ${n}`) as unknown }] },
    });
    // The server refuses to sign over the rewrite.
    expect(await signCheckpoint(ctx)).toMatchObject({ status: 'refused', detail: expect.stringContaining(`Entry ${n}`) as unknown });

    // What the operator sees: exit 3, the reason, and the failed verification recorded in the log.
    const before = await auditCount();
    const human = await runAdmin(env, ['audit', 'verify']);
    expect(human.code).toBe(3);
    expect(human.stdout).toMatch(/DOES NOT MATCH ITS SIGNED CHECKPOINTS/);
    expect(human.stdout).toMatch(new RegExp(`${checkpointFileName(n, ctx.checkpointKeys.signer.keyId)} \\(size ${n}\\): mismatch`));
    const json = await runAdminJson<{ ok: boolean; chainOk: boolean; recorded: boolean; checkpoints: { problems: { kind: string }[] } }>(env, ['audit', 'verify']);
    expect(json).toMatchObject({ code: 3, json: { ok: false, chainOk: true, recorded: true, checkpoints: { problems: [{ kind: 'mismatch' }] } } });
    const recorded = await ctx.db.selectFrom('audit_log').select(['action', 'outcome', 'actor']).where('seq', '>', before).orderBy('seq').execute();
    expect(recorded).toEqual([
      { action: 'audit.verify', outcome: 'failed', actor: expect.stringMatching(/^cli:/) as unknown },
      { action: 'audit.verify', outcome: 'failed', actor: expect.stringMatching(/^cli:/) as unknown },
    ]);
    expect((await runAdmin(env, ['audit', 'checkpoint'])).code).toBe(3);
  });

  it('catches the table truncated with the head rolled back: a checkpoint is newer than the log', async () => {
    await signCheckpoint(ctx);
    await removeAppendOnlyGuards(ctx.db);
    await sql`delete from audit_log where seq > 20`.execute(ctx.db);
    const at20 = await ctx.db.selectFrom('audit_log').select('hash').where('seq', '=', 20).executeTakeFirstOrThrow();
    await sql`update audit_head set seq = 20, hash = ${at20.hash}`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: true, entries: 20 });
    expect(await verify()).toMatchObject({ ok: false, checkpoints: { problems: [{ kind: 'beyond_log', size: n }] } });
  });

  it('reports a checkpoint file deleted, cut short or edited', async () => {
    const keyId = ctx.checkpointKeys.signer.keyId;
    await signCheckpoint(ctx);
    await appendSampleEntries(ctx.db, 1);
    await signCheckpoint(ctx);
    await appendSampleEntries(ctx.db, 1);
    await signCheckpoint(ctx);
    const file = (size: number) => path.join(dir, checkpointFileName(size, keyId));

    fs.rmSync(file(n));
    fs.chmodSync(file(n + 1), 0o644);
    fs.writeFileSync(file(n + 1), fs.readFileSync(file(n + 1), 'utf8').slice(0, 60));
    fs.chmodSync(file(n + 2), 0o644);
    const original = fs.readFileSync(file(n + 2), 'utf8');
    const rolledBackHash = (await ctx.db.selectFrom('audit_log').select('hash').where('seq', '=', n + 2).executeTakeFirstOrThrow()).hash;
    fs.writeFileSync(file(n + 2), original.replace(Buffer.from(rolledBackHash, 'hex').toString('base64'), Buffer.alloc(32, 7).toString('base64')));

    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.checkpoints.problems.map((p) => [p.kind, p.size]).sort()).toEqual([
      ['bad_signature', n + 2], ['malformed', n + 1], ['missing_file', n],
    ]);
  });

  it('reports a checkpoint signed by another key, and accepts an earlier key once it is trusted', async () => {
    await signCheckpoint(ctx);
    // Someone who holds another key (the same name, to pass for ours) signs the current head.
    const other = parseSignerKey(generateSignerKey(ctx.checkpointKeys.signer.name));
    const head = await ctx.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    const foreign = checkpointFileName(n, other.keyId);
    fs.writeFileSync(path.join(dir, foreign), signNote(checkpointText({ origin: other.name, size: n, rootHash: head.hash }), other));

    expect(await verify()).toMatchObject({
      ok: false,
      checkpoints: { matched: 1, problems: [{ kind: 'unknown_key', file: foreign, detail: expect.stringContaining(`key id ${other.keyId}`) as unknown }] },
    });
    // After a rotation the earlier key is listed as trusted: its checkpoints count.
    expect(await verifyAuditLog(ctx.db, { dir, verifiers: [ctx.checkpointKeys.signer, other] })).toMatchObject({ ok: true, checkpoints: { matched: 2 } });
    // An auditor may trust a key given out of band instead of the server's configuration.
    const run = await runAdminJson<{ checkpoints: { problems: { kind: string; file: string }[] } }>(env, ['audit', 'verify', '--verifier', other.verifierKey]);
    expect(run.code).toBe(3);
    expect(run.json.checkpoints.problems).toEqual([expect.objectContaining({ kind: 'unknown_key', file: checkpointFileName(n, ctx.checkpointKeys.signer.keyId) })]);
    const trusted = await runAdmin(env, ['audit', 'verify'], { extraEnv: { DEPOTLINE_CHECKPOINT_TRUSTED_KEYS: other.verifierKey } });
    expect(trusted.code).toBe(0);
    expect((await runAdminJson(env, ['audit', 'verify', '--verifier', 'not-a-key'])).json).toMatchObject({ error: { code: 'bad_request' } });
  });

  it('signs on a schedule only when the head moved, and on demand from the CLI', async () => {
    const schedule = startCheckpointSchedule(ctx);
    try {
      expect(await schedule.tick()).toMatchObject({ status: 'signed', checkpoint: { size: n } });
      expect(await schedule.tick()).toMatchObject({ status: 'unchanged' });
    } finally {
      await schedule.stop();
    }
    await appendSampleEntries(ctx.db, 2);
    const signed = await runAdminJson<{ status: string; checkpoint: { size: number } }>(env, ['audit', 'checkpoint']);
    expect(signed).toMatchObject({ code: 0, json: { status: 'signed', checkpoint: { size: n + 2 } } });
    expect((await runAdmin(env, ['audit', 'checkpoint'])).stdout).toMatch(/has not moved since the checkpoint at size 32/);
    const key = await runAdmin(env, ['audit', 'checkpoint-key']);
    expect(key.stdout.split('\n')[0]).toBe(ctx.checkpointKeys.signer.verifierKey);
    expect((await runAdmin(env, ['audit', 'verify'])).stdout).toMatch(/Checkpoints: 2 signed checkpoints match the log; the latest covers seq 1 to 32/);
  });

  it('creates a new key for a rotation without touching the current one; the old verifier key keeps old checkpoints valid', async () => {
    await signCheckpoint(ctx);
    const out = path.join(env.dir, 'keys', 'checkpoint-2.key');
    const made = await runAdminJson<{ verifierKey: string; previousVerifierKey: string; name: string }>(env, ['audit', 'checkpoint-keygen', '--out', out]);
    expect(made).toMatchObject({ code: 0, json: { name: ctx.checkpointKeys.signer.name, previousVerifierKey: ctx.checkpointKeys.signer.verifierKey } });
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect((await runAdminJson(env, ['audit', 'checkpoint-keygen', '--out', out])).code).toBe(1);

    const rotated = { DEPOTLINE_CHECKPOINT_KEY_FILE: out, DEPOTLINE_CHECKPOINT_TRUSTED_KEYS: made.json.previousVerifierKey };
    await appendSampleEntries(ctx.db, 1);
    expect((await runAdminJson(env, ['audit', 'checkpoint'], { extraEnv: rotated })).json).toMatchObject({ status: 'signed', checkpoint: { size: n + 1 } });
    expect((await runAdmin(env, ['audit', 'verify'], { extraEnv: rotated })).code).toBe(0);
    // Forgetting to trust the old key makes its checkpoints unknown, not silently ignored.
    const forgotten = await runAdminJson<{ checkpoints: { problems: { kind: string }[] } }>(env, ['audit', 'verify'], { extraEnv: { DEPOTLINE_CHECKPOINT_KEY_FILE: out } });
    expect(forgotten.json.checkpoints.problems).toEqual([expect.objectContaining({ kind: 'unknown_key' })]);
  });

  describe('the signer finds every earlier checkpoint, not only the rows the insider left', () => {
    const keyId = () => ctx.checkpointKeys.signer.keyId;
    const rewriteAfterCheckpoint = async () => {
      expect((await signCheckpoint(ctx)).status).toBe('signed');
      await appendSampleEntries(ctx.db, 5);
      await removeAppendOnlyGuards(ctx.db);
      await rewriteChainFrom(ctx.db, 12, '{"n":11,"to":"cancelled"}');
    };
    const refusals = () => ctx.db.selectFrom('audit_log').select(['action', 'outcome', 'actor', 'details']).where('action', '=', 'audit.checkpoint').execute();

    it('refuses to sign over a rewrite once the register of checkpoints is emptied; the refusal is logged and recorded once', async () => {
      await rewriteAfterCheckpoint();
      expect((await signCheckpoint(ctx)).status).toBe('refused');
      await sql`delete from audit_checkpoints`.execute(ctx.db);

      const schedule = startCheckpointSchedule(ctx);
      try {
        const refused = await schedule.tick();
        expect(refused).toMatchObject({
          status: 'refused', checkpoint: { size: n + 5 },
          detail: expect.stringContaining(`Entry ${n} no longer has the hash signed in ${checkpointFileName(n, keyId())}`) as unknown,
        });
        // Still refused on the next tick (the recorded refusal moved the head), recorded only once.
        expect(await schedule.tick()).toMatchObject({ status: 'refused' });
      } finally {
        await schedule.stop();
      }
      expect(await refusals()).toEqual([{ action: 'audit.checkpoint', outcome: 'failed', actor: 'system', details: expect.stringContaining('the log was rewritten') as unknown }]);
      expect(fs.readdirSync(dir)).toEqual([checkpointFileName(n, keyId())]);
      expect(await ctx.db.selectFrom('audit_checkpoints').selectAll().execute()).toEqual([]);
      expect(await verify()).toMatchObject({ ok: false, checkpoints: { matched: 0, latest: null, problems: [{ kind: 'mismatch', size: n }] } });

      const cli = await runAdminJson<{ status: string; recorded: boolean }>(env, ['audit', 'checkpoint']);
      expect(cli).toMatchObject({ code: 3, json: { status: 'refused', recorded: true } });
      expect((await refusals()).map((r) => r.actor)).toEqual(['system', expect.stringMatching(/^cli:/) as unknown]);
    });

    it('refuses when a recorded checkpoint file is deleted, or the newest one is edited, even with the log intact', async () => {
      await signCheckpoint(ctx);
      await appendSampleEntries(ctx.db, 1);
      await signCheckpoint(ctx);
      await appendSampleEntries(ctx.db, 1);
      const file = (size: number) => path.join(dir, checkpointFileName(size, keyId()));

      const newest = fs.readFileSync(file(n + 1), 'utf8');
      fs.chmodSync(file(n + 1), 0o644);
      const signed = (await ctx.db.selectFrom('audit_log').select('hash').where('seq', '=', n + 1).executeTakeFirstOrThrow()).hash;
      fs.writeFileSync(file(n + 1), newest.replace(Buffer.from(signed, 'hex').toString('base64'), Buffer.alloc(32, 7).toString('base64')));
      expect(await signCheckpoint(ctx)).toMatchObject({ status: 'refused', detail: expect.stringContaining(`${checkpointFileName(n + 1, keyId())} (the newest checkpoint) is not a valid checkpoint: bad_signature`) as unknown });
      fs.writeFileSync(file(n + 1), newest);

      fs.rmSync(file(n));
      expect(await signCheckpoint(ctx)).toMatchObject({ status: 'refused', detail: expect.stringContaining(`size ${n} (${checkpointFileName(n, keyId())}) is in the database's register but missing`) as unknown });
      expect(fs.existsSync(file(n + 2))).toBe(false);
    });

    it('records again a valid file whose row is missing (a crash between file and row) and signs on', async () => {
      await signCheckpoint(ctx);
      await removeAppendOnlyGuards(ctx.db);
      await sql`delete from audit_checkpoints`.execute(ctx.db);
      await appendSampleEntries(ctx.db, 1);
      expect(await signCheckpoint(ctx)).toMatchObject({ status: 'signed', checkpoint: { size: n + 1 } });
      expect(await ctx.db.selectFrom('audit_checkpoints').select(['size', 'file']).orderBy('size').execute()).toEqual([
        { size: n, file: checkpointFileName(n, keyId()) }, { size: n + 1, file: checkpointFileName(n + 1, keyId()) },
      ]);
      expect(await verify()).toMatchObject({ ok: true, checkpoints: { matched: 2 } });
    });

    it('after a key rotation, the new key extends the old key\'s checkpoints: a rewrite is refused, rows or no rows', async () => {
      const previous = ctx.checkpointKeys.signer;
      const next = parseSignerKey(generateSignerKey(previous.name));
      const rotated = { ...ctx, checkpointKeys: { signer: next, trusted: [previous] } };
      await rewriteAfterCheckpoint();

      const detail = `Entry ${n} no longer has the hash`;
      expect(await signCheckpoint(rotated)).toMatchObject({ status: 'refused', detail: expect.stringContaining(detail) as unknown });
      await sql`delete from audit_checkpoints`.execute(ctx.db);
      expect(await signCheckpoint(rotated)).toMatchObject({ status: 'refused', detail: expect.stringContaining(`${detail} signed in ${checkpointFileName(n, previous.keyId)}`) as unknown });
      // The old key forgotten in the configuration: its file is not silently ignored either.
      const forgotten = { ...ctx, checkpointKeys: { signer: next, trusted: [] } };
      expect(await signCheckpoint(forgotten)).toMatchObject({ status: 'refused', detail: expect.stringContaining('unknown_key') as unknown });
      expect(fs.readdirSync(dir)).toEqual([checkpointFileName(n, previous.keyId)]);
    });

    it('after a key rotation, the new key signs a log that extends the old key\'s checkpoint', async () => {
      const previous = ctx.checkpointKeys.signer;
      const next = parseSignerKey(generateSignerKey(previous.name));
      const rotated = { ...ctx, checkpointKeys: { signer: next, trusted: [previous] } };
      await signCheckpoint(ctx);
      expect(await signCheckpoint(rotated)).toMatchObject({ status: 'signed', checkpoint: { size: n }, file: checkpointFileName(n, next.keyId) });
      await appendSampleEntries(ctx.db, 1);
      expect(await signCheckpoint(rotated)).toMatchObject({ status: 'signed', checkpoint: { size: n + 1 } });
      expect(await signCheckpoint(rotated)).toMatchObject({ status: 'unchanged' });
      expect(await verifyAuditLog(ctx.db, { dir, verifiers: [next, previous] })).toMatchObject({ ok: true, checkpoints: { matched: 3, latest: { size: n + 1 } } });
    });
  });
});

describe('checkpoint configuration', () => {
  it('refuses a malformed checkpoint key file, a malformed trusted key, and a migration URL without a server URL', async () => {
    const env = await createTestEnv('sqlite');
    try {
      const bad = path.join(env.dir, 'bad.key');
      fs.writeFileSync(bad, 'PRIVATE+KEY+x+00000000+AAAA\n');
      await expect(createTestContext({ ...env, config: { ...env.config, checkpoints: { ...env.config.checkpoints, keyFile: bad } } }))
        .rejects.toThrow(KeyError);
      await expect(createTestContext({ ...env, config: { ...env.config, checkpoints: { ...env.config.checkpoints, keyFile: path.join(env.dir, 'absent.key') } } }))
        .rejects.toThrow(/Cannot read the checkpoint key file/);
      await expect(createTestContext({ ...env, config: { ...env.config, checkpoints: { ...env.config.checkpoints, trustedKeys: ['PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'] } } }))
        .rejects.toThrow(/Trusted checkpoint key 1: verifier key: the key id c74f20a4 does not match/);
      expect(() => loadConfig({ DATABASE_MIGRATION_URL: 'postgres://owner@db/depotline' })).toThrow(ConfigError);
      expect(loadConfig({ DATABASE_URL: 'postgres://app@db/d', DATABASE_MIGRATION_URL: 'postgres://owner@db/d' }).database)
        .toEqual({ kind: 'postgres', url: 'postgres://app@db/d', migrationUrl: 'postgres://owner@db/d', poolSize: 20 });
    } finally {
      await env.dispose();
    }
  });
});

describe('checkpoint files', () => {
  it('are written once: the same content again is a no-op, other content never replaces the file, no temporary file is left', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-checkpoints-'));
    try {
      expect(writeOnce(dir, 'a.checkpoint', 'one\n')).toBe('written');
      expect(writeOnce(dir, 'a.checkpoint', 'one\n')).toBe('exists');
      expect(writeOnce(dir, 'a.checkpoint', 'two\n')).toBe('conflict');
      expect(fs.readFileSync(path.join(dir, 'a.checkpoint'), 'utf8')).toBe('one\n');
      expect(fs.readdirSync(dir)).toEqual(['a.checkpoint']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
