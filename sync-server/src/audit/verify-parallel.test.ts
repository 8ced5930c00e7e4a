import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { removeAppendOnlyGuards, writeSyntheticChain } from '../../test/audit-chain';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { appendAudit, genesisHash, hashEntry, type AuditActor } from './audit-log';
import { type AuditVerifyResult, type VerifyOptions, type VerifyStats, verifyAuditChain } from './verify';

/*
 * The parallel verifier (worker threads with their own connections, the fast database-built
 * encoding, the exact recheck) must give exactly the answer of a walk from seq 1 in this
 * thread: every tampering below is verified both ways and the results compared whole.
 */

const n = 100;
const batchSize = 10; // chunks 1-10, 11-20, ...: 40 ends one, 41 starts the next
const inWorkers: VerifyOptions = { batchSize, workers: 2, checkInThisThread: false };
const inThisThread: VerifyOptions = { batchSize, workers: 0 };

async function verifyWithStats(db: Db, options: VerifyOptions): Promise<{ result: AuditVerifyResult; stats: VerifyStats }> {
  let stats: VerifyStats | undefined;
  const result = await verifyAuditChain(db, { ...options, onStats: (s) => { stats = s; } });
  return { result, stats: stats! };
}

async function rewriteWithHash(db: Db, seq: number, changes: { actor?: string; prev_hash?: string }): Promise<void> {
  const row = await db.selectFrom('audit_log').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
  const forged = { ...row, ...changes };
  await db.updateTable('audit_log').set({ ...changes, hash: hashEntry(forged) }).where('seq', '=', seq).execute();
}

type Tampering = [name: string, tamper: (db: Db) => Promise<void>, expected: Record<string, unknown>];

const tamperings: Tampering[] = [
  ['an edit in a later chunk', (db) => sql`update audit_log set outcome = 'denied' where seq = 87`.execute(db).then(() => {}),
    { ok: false, entries: 86, firstBroken: { seq: 87, reason: 'altered' } }],
  ['an edit of the last entry of a chunk', (db) => sql`update audit_log set ip = '10.9.9.9' where seq = 40`.execute(db).then(() => {}),
    { ok: false, entries: 39, firstBroken: { seq: 40, reason: 'altered' } }],
  ['an edit of the first entry of a chunk', (db) => sql`update audit_log set details = '{}' where seq = 41`.execute(db).then(() => {}),
    { ok: false, entries: 40, firstBroken: { seq: 41, reason: 'altered' } }],
  ['the last entry of a chunk rewritten with a recomputed hash (caught across the boundary)', (db) => rewriteWithHash(db, 40, { actor: 'nobody' }),
    { ok: false, entries: 39, firstBroken: { seq: 40, reason: 'chain_broken' } }],
  ['the first entry of a chunk rewritten with a recomputed hash', (db) => rewriteWithHash(db, 41, { actor: 'nobody' }),
    { ok: false, entries: 40, firstBroken: { seq: 41, reason: 'chain_broken' } }],
  ['the first entry of a chunk relinked to another predecessor', (db) => rewriteWithHash(db, 41, { prev_hash: genesisHash }),
    { ok: false, entries: 39, firstBroken: { seq: 40, reason: 'chain_broken' } }],
  ['the first entry of a chunk deleted', (db) => sql`delete from audit_log where seq = 41`.execute(db).then(() => {}),
    { ok: false, entries: 40, firstBroken: { seq: 41, reason: 'missing' } }],
  ['a whole chunk deleted', (db) => sql`delete from audit_log where seq between 41 and 50`.execute(db).then(() => {}),
    { ok: false, entries: 40, firstBroken: { seq: 41, reason: 'missing', detail: expect.stringContaining('41 to 50') as unknown } }],
  ['the last entries of a chunk deleted', (db) => sql`delete from audit_log where seq between 38 and 40`.execute(db).then(() => {}),
    { ok: false, entries: 37, firstBroken: { seq: 38, reason: 'missing', detail: expect.stringContaining('38 to 40') as unknown } }],
  ['entries swapped across a chunk boundary', async (db) => {
    await sql`update audit_log set seq = -1 where seq = 40`.execute(db);
    await sql`update audit_log set seq = 40 where seq = 41`.execute(db);
    await sql`update audit_log set seq = 41 where seq = -1`.execute(db);
  }, { ok: false, entries: 39, firstBroken: { seq: 40, reason: 'reordered' } }],
  ['the tail deleted', (db) => sql`delete from audit_log where seq > 95`.execute(db).then(() => {}),
    { ok: false, entries: 95, firstBroken: { seq: 96, reason: 'truncated' } }],
  ['the tail deleted down to a chunk boundary, head rolled back', async (db) => {
    await sql`delete from audit_log where seq > 90`.execute(db);
    await sql`update audit_head set seq = 90`.execute(db);
  }, { ok: false, firstBroken: { seq: 90, reason: 'chain_broken' } }],
  ['an edit early and one late: the early one is reported', async (db) => {
    await sql`update audit_log set outcome = 'denied' where seq = 93`.execute(db);
    await sql`update audit_log set outcome = 'denied' where seq = 15`.execute(db);
  }, { ok: false, entries: 14, firstBroken: { seq: 15, reason: 'altered' } }],
  ['no head row', (db) => sql`delete from audit_head`.execute(db).then(() => {}),
    { ok: false, entries: n, firstBroken: { seq: n + 1, reason: 'truncated' } }],
];

describe.each(backends)('audit chain verification in worker threads (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  let headHash: string;
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    // The tamperings below are an owner's: first the append-only triggers go.
    await removeAppendOnlyGuards(ctx.db);
  });
  afterAll(async () => {
    await ctx.db.destroy();
    await env.dispose();
  });
  beforeEach(async () => {
    await sql`delete from audit_log`.execute(ctx.db);
    await sql`delete from audit_head`.execute(ctx.db);
    await sql`insert into audit_head (id, seq, hash) values (1, 0, ${genesisHash})`.execute(ctx.db);
    headHash = await writeSyntheticChain(ctx.db, n);
  });

  it('checks every chunk in the workers and accepts an intact chain', async () => {
    const { result, stats } = await verifyWithStats(ctx.db, inWorkers);
    expect(result).toEqual({ ok: true, entries: n, headHash });
    // The first worker to start may take every chunk before the second is up.
    expect(stats).toMatchObject({ chunksInWorkers: n / batchSize, chunksHere: 0, rechecked: 0 });
    expect(stats.workers).toBeGreaterThanOrEqual(1);
  });

  it('gives the same progress, in order, as a walk in this thread', async () => {
    const seen: number[][] = [[], []];
    await verifyAuditChain(ctx.db, { ...inWorkers, onProgress: (c) => seen[0]!.push(c) });
    await verifyAuditChain(ctx.db, { ...inThisThread, onProgress: (c) => seen[1]!.push(c) });
    expect(seen[0]).toEqual(Array.from({ length: n / batchSize }, (_, i) => (i + 1) * batchSize));
    expect(seen[0]).toEqual(seen[1]);
  });

  it.each(tamperings)('%s: the same first broken entry as a walk in this thread', async (_name, tamper, expected) => {
    await tamper(ctx.db);
    const here = await verifyWithStats(ctx.db, inThisThread);
    const workers = await verifyWithStats(ctx.db, inWorkers);
    const mixed = await verifyWithStats(ctx.db, { ...inWorkers, checkInThisThread: true });
    expect(here.result).toMatchObject(expected);
    expect(workers.result).toEqual(here.result);
    expect(mixed.result).toEqual(here.result);
    expect(workers.stats.workers).toBeGreaterThanOrEqual(1);
    expect(workers.stats.chunksHere).toBe(0);
  });

  it('encodes awkward text in the database exactly as hashEntry does (no chunk needs the exact recheck)', async () => {
    const awkward = ['tab\there', 'new\nline\r\n', 'ctl\u0001\u001f\u007f\b\f', 'quote" back\\slash /', 'sep\u2028\u2029', 'émoji 😀 中文', '', '{"json":"text"}'];
    for (const [i, text] of awkward.entries()) {
      const actor: AuditActor = { userId: text, label: text, deviceId: text || null, ip: text };
      await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, {
        action: text || 'x', outcome: 'ok', targetType: text, targetId: text, locationId: text, details: { text, i },
      }, 1_700_000_000_000 + i));
    }
    const entries = n + awkward.length;
    const head = await ctx.db.selectFrom('audit_head').select('hash').executeTakeFirstOrThrow();
    for (const options of [inThisThread, inWorkers]) {
      const { result, stats } = await verifyWithStats(ctx.db, options);
      expect(result).toEqual({ ok: true, entries, headHash: head.hash });
      expect(stats.rechecked).toBe(0);
    }
  });

  it('defaults to this thread alone for a small log', async () => {
    const { result, stats } = await verifyWithStats(ctx.db, { batchSize });
    expect(result.ok).toBe(true);
    expect(stats).toEqual({ workers: 0, chunksInWorkers: 0, chunksHere: n / batchSize, rechecked: 0 });
  });

  it.runIf(backend === 'sqlite')('a value rewritten as a JSONB blob of the same text is caught, though json_array reads it as that text', async () => {
    await sql`update audit_log set actor = jsonb(json_quote(actor)) where seq = 33`.execute(ctx.db);
    const { rows } = await sql<{ t: string }>`select typeof(actor) as t from audit_log where seq = 33`.execute(ctx.db);
    expect(rows[0]!.t).toBe('blob');
    for (const options of [inThisThread, inWorkers]) {
      const { result, stats } = await verifyWithStats(ctx.db, options);
      expect(result).toMatchObject({ ok: false, entries: 32, firstBroken: { seq: 33, reason: 'altered' } });
      expect(stats.rechecked).toBe(1);
    }
  });

  it.runIf(backend === 'sqlite')('starts its workers under tsx too, as the server and the admin CLI run', async () => {
    const file = env.sqliteFile!;
    const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
    const moduleUrl = (rel: string) => new URL(rel, import.meta.url).href;
    const script = `
      const { openDatabase } = await import(${JSON.stringify(moduleUrl('../db/database.ts'))});
      const { verifyAuditChain } = await import(${JSON.stringify(moduleUrl('./verify.ts'))});
      const { db, close } = openDatabase({ kind: 'sqlite', file: ${JSON.stringify(file)} });
      let stats;
      const result = await verifyAuditChain(db, { batchSize: ${batchSize}, workers: 2, checkInThisThread: false, onStats: (s) => { stats = s; } });
      await close();
      process.stdout.write(JSON.stringify({ result, stats }));`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, timeout: 25_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const { result, stats } = JSON.parse(out) as { result: AuditVerifyResult; stats: VerifyStats };
    expect(result).toEqual({ ok: true, entries: n, headHash });
    expect(stats).toMatchObject({ chunksInWorkers: n / batchSize, chunksHere: 0, rechecked: 0 });
  });
});
