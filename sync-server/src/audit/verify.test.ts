import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendSampleEntries, removeAppendOnlyGuards, writeSyntheticChain } from '../../test/audit-chain';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { appendAudit, genesisHash, hashEntry, systemActor } from './audit-log';
import { verifyAuditChain } from './verify';

/*
 * "A tampered audit row fails verify": every tampering below is done with raw SQL,
 * as someone with the owner's database access would, bypassing the audit writer (after
 * removing the append-only triggers, which the owner may do; audit/checkpoints.test.ts covers
 * what the checkpoints add, db/audit-append-only.test.ts that the server's own role cannot).
 */

const contentColumns = [
  'at', 'actor_user_id', 'actor', 'action', 'outcome', 'target_type', 'target_id', 'location_id', 'details',
  'device_id', 'ip', 'prev_hash', 'hash',
] as const;
type Content = Record<(typeof contentColumns)[number], string | number | null>;

async function readContent(db: Db, seq: number): Promise<Content> {
  const { rows } = await sql<Content>`select ${sql.join(contentColumns.map((c) => sql.ref(c)))} from audit_log where seq = ${seq}`.execute(db);
  return rows[0]!;
}

async function writeContent(db: Db, seq: number, content: Content): Promise<void> {
  const sets = contentColumns.map((c) => sql`${sql.ref(c)} = ${content[c]}`);
  await sql`update audit_log set ${sql.join(sets)} where seq = ${seq}`.execute(db);
}

const n = 30;
// Batch sizes that put tampered entries on, before and after batch boundaries.
const batchSizes = [1, 7, 5000];

describe.each(backends)('audit chain verification (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeEach(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    await appendSampleEntries(ctx.db, n);
    await removeAppendOnlyGuards(ctx.db);
  });
  afterEach(async () => {
    await ctx.db.destroy();
    await env.dispose();
  });

  it.each(batchSizes)('an untouched log verifies, up to the head hash (batch %i)', async (batchSize) => {
    const head = await ctx.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    expect(await verifyAuditChain(ctx.db, { batchSize })).toEqual({ ok: true, entries: n, headHash: head.hash });
  });

  it('an empty log verifies as zero entries at the genesis hash', async () => {
    await sql`delete from audit_log`.execute(ctx.db);
    await sql`update audit_head set seq = 0, hash = ${genesisHash}`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toEqual({ ok: true, entries: 0, headHash: genesisHash });
  });

  it.each(batchSizes)('an edited field of entry k is reported as k altered (batch %i)', async (batchSize) => {
    for (const [k, column, value] of [[7, 'outcome', 'denied'], [14, 'details', '{"to":"cancelled"}'], [1, 'actor', 'someone-else'], [n, 'ip', '10.9.9.9']] as const) {
      const before = await readContent(ctx.db, k);
      const changed = before[column] === value ? `${value}!` : value;
      await sql`update audit_log set ${sql.ref(column)} = ${changed} where seq = ${k}`.execute(ctx.db);
      const result = await verifyAuditChain(ctx.db, { batchSize });
      expect(result).toMatchObject({ ok: false, entries: k - 1, firstBroken: { seq: k, reason: 'altered' } });
      await writeContent(ctx.db, k, before);
      expect((await verifyAuditChain(ctx.db, { batchSize })).ok).toBe(true);
    }
  });

  it('an entry rewritten with a recomputed hash is still caught, at that entry', async () => {
    const k = 12;
    const row = await ctx.db.selectFrom('audit_log').selectAll().where('seq', '=', k).executeTakeFirstOrThrow();
    const forged = { ...row, outcome: row.outcome === 'ok' ? 'denied' : 'ok' };
    await sql`update audit_log set outcome = ${forged.outcome}, hash = ${hashEntry(forged)} where seq = ${k}`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db, { batchSize: 5 })).toMatchObject({ ok: false, entries: k - 1, firstBroken: { seq: k, reason: 'chain_broken' } });
  });

  it('the last entry rewritten with a recomputed hash no longer matches the head', async () => {
    const row = await ctx.db.selectFrom('audit_log').selectAll().where('seq', '=', n).executeTakeFirstOrThrow();
    const forged = { ...row, actor: 'nobody' };
    await sql`update audit_log set actor = 'nobody', hash = ${hashEntry(forged)} where seq = ${n}`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, firstBroken: { seq: n, reason: 'chain_broken' } });
  });

  it.each(batchSizes)('a deleted entry k is reported as k missing (batch %i)', async (batchSize) => {
    await sql`delete from audit_log where seq = 9`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db, { batchSize })).toMatchObject({
      ok: false, entries: 8, firstBroken: { seq: 9, reason: 'missing', detail: expect.stringContaining('Entry 9 is missing') as unknown },
    });
    await sql`delete from audit_log where seq in (10, 11)`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db, { batchSize })).toMatchObject({ ok: false, firstBroken: { seq: 9, reason: 'missing', detail: expect.stringContaining('9 to 11') as unknown } });
  });

  it('the first entry deleted is reported, not silently skipped', async () => {
    await sql`delete from audit_log where seq = 1`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, entries: 0, firstBroken: { seq: 1, reason: 'missing' } });
  });

  it.each(batchSizes)('two entries with swapped contents are reported as reordered at the first (batch %i)', async (batchSize) => {
    const [i, j] = [5, 19];
    const a = await readContent(ctx.db, i);
    const b = await readContent(ctx.db, j);
    await writeContent(ctx.db, i, b);
    await writeContent(ctx.db, j, a);
    expect(await verifyAuditChain(ctx.db, { batchSize })).toMatchObject({
      ok: false, entries: i - 1, firstBroken: { seq: i, reason: 'reordered', detail: expect.stringContaining(`written as seq ${j}`) as unknown },
    });
  });

  it('neighbouring entries swapped by renumbering their seq are reported as reordered', async () => {
    await sql`update audit_log set seq = -1 where seq = 20`.execute(ctx.db);
    await sql`update audit_log set seq = 20 where seq = 21`.execute(ctx.db);
    await sql`update audit_log set seq = 21 where seq = -1`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db, { batchSize: 20 })).toMatchObject({ ok: false, entries: 19, firstBroken: { seq: 20, reason: 'reordered' } });
  });

  it('a deleted entry with the later ones renumbered to close the gap is still caught there', async () => {
    await sql`delete from audit_log where seq = 15`.execute(ctx.db);
    await sql`update audit_log set seq = seq - 1 where seq > 15`.execute(ctx.db);
    await sql`update audit_head set seq = seq - 1`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, entries: 14, firstBroken: { seq: 15, reason: 'reordered' } });
  });

  it.each(batchSizes)('deleting the last entries is reported as truncated (batch %i)', async (batchSize) => {
    await sql`delete from audit_log where seq > ${n - 3}`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db, { batchSize })).toMatchObject({
      ok: false, entries: n - 3, firstBroken: { seq: n - 2, reason: 'truncated', detail: expect.stringContaining(`head records ${n}`) as unknown },
    });
  });

  it('truncating the tail and rolling the head back is caught by the head hash', async () => {
    await sql`delete from audit_log where seq > ${n - 3}`.execute(ctx.db);
    await sql`update audit_head set seq = ${n - 3}`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, firstBroken: { seq: n - 3, reason: 'chain_broken' } });
  });

  it('an entry inserted beyond the head is reported', async () => {
    const last = await ctx.db.selectFrom('audit_log').selectAll().where('seq', '=', n).executeTakeFirstOrThrow();
    const forged = { ...last, seq: n + 1, prev_hash: last.hash, action: 'grant.create' };
    await ctx.db.insertInto('audit_log').values({ ...forged, hash: hashEntry(forged) }).execute();
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, entries: n, firstBroken: { seq: n + 1, reason: 'chain_broken' } });
  });

  it('a missing head row cannot vouch for the end of the log', async () => {
    await sql`delete from audit_head`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, entries: n, firstBroken: { seq: n + 1, reason: 'truncated' } });
  });

  it('entries appended after the verification started are left for the next run', async () => {
    const concurrent: { append: Promise<number> | null } = { append: null };
    const result = await verifyAuditChain(ctx.db, {
      batchSize: 10,
      onProgress: () => {
        concurrent.append ??= ctx.db.transaction().execute((trx) => appendAudit(trx, systemActor, { action: 'test.concurrent', outcome: 'ok' }));
      },
    });
    expect(result).toMatchObject({ ok: true, entries: n });
    expect(await concurrent.append).toBe(n + 1);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: true, entries: n + 1 });
  });
});

describe.each(backends)('audit chain verification over many batches (%s)', (backend) => {
  it('verifies a 20,000-entry chain and finds one edit near its end', async () => {
    const env = await createTestEnv(backend);
    const ctx = await createTestContext(env);
    try {
      const headHash = await writeSyntheticChain(ctx.db, 20_000);
      await removeAppendOnlyGuards(ctx.db);
      const seen: number[] = [];
      expect(await verifyAuditChain(ctx.db, { batchSize: 3000, onProgress: (c) => seen.push(c) })).toEqual({ ok: true, entries: 20_000, headHash });
      expect(seen.at(-1)).toBe(20_000);
      expect(seen.length).toBe(7);
      await sql`update audit_log set location_id = 'depot-z' where seq = 19999`.execute(ctx.db);
      expect(await verifyAuditChain(ctx.db, { batchSize: 3000 })).toMatchObject({ ok: false, entries: 19_998, firstBroken: { seq: 19_999, reason: 'altered' } });
    } finally {
      await ctx.db.destroy();
      await env.dispose();
    }
  });
});
