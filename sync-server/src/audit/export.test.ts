import { Writable } from 'node:stream';
import { AuditEntry } from '@depotline/shared';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendSampleEntries, removeAppendOnlyGuards } from '../../test/audit-chain';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';
import { genesisHash, hashEntry } from './audit-log';
import { canonicalJson } from './canonical';
import { type AuditExportSummary, exportAuditLog } from './export';

/** A slow sink with a tiny buffer, so the exporter has to wait for 'drain'. */
function collectingSink(): { sink: Writable; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    highWaterMark: 64,
    decodeStrings: false,
    write(chunk: string, _enc, done) {
      chunks.push(chunk);
      setImmediate(done);
    },
  });
  return { sink, text: () => chunks.join('') };
}

function parseExport(text: string): { entries: AuditEntry[]; summary: AuditExportSummary } {
  const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
  const summary = lines.pop() as AuditExportSummary;
  return { entries: lines.map((l) => AuditEntry.parse(l)), summary };
}

describe.each(backends)('audit export (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  const n = 25;
  beforeEach(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    await appendSampleEntries(ctx.db, n, ['depot-a', 'depot-b', 'depot-c']);
  });
  afterEach(async () => {
    await ctx.db.destroy();
    await env.dispose();
  });

  it('writes every entry as a JSON line an auditor can re-hash, then a verified summary', async () => {
    const { sink, text } = collectingSink();
    const summary = await exportAuditLog(ctx.db, sink, { batchSize: 4 });
    const out = parseExport(text());
    expect(out.summary).toEqual(summary);
    expect(summary).toMatchObject({ type: 'summary', exported: n, lastSeq: n, filter: { locationId: null, afterSeq: 0 }, verify: { ok: true, entries: n } });
    expect(out.entries.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // The export alone is enough to check the chain: re-hash each entry from its exported fields.
    let prev = genesisHash;
    for (const e of out.entries) {
      const recomputed = hashEntry({
        seq: e.seq, at: e.at, actor_user_id: e.actorUserId, actor: e.actor, action: e.action, outcome: e.outcome,
        target_type: e.targetType, target_id: e.targetId, location_id: e.locationId, details: canonicalJson(e.details),
        device_id: e.deviceId, ip: e.ip, prev_hash: e.prevHash,
      });
      expect(e.prevHash).toBe(prev);
      expect(recomputed).toBe(e.hash);
      prev = e.hash;
    }
    expect(summary.head).toEqual({ seq: n, hash: prev });
    expect(text()).not.toContain('never stored');
  });

  it('filters by location and continues after a seq', async () => {
    const { sink, text } = collectingSink();
    const summary = await exportAuditLog(ctx.db, sink, { locationId: 'depot-b', afterSeq: 10, batchSize: 2 });
    const { entries } = parseExport(text());
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.locationId === 'depot-b' && e.seq > 10)).toBe(true);
    const expected = await ctx.db.selectFrom('audit_log').select('seq').where('location_id', '=', 'depot-b').where('seq', '>', 10).orderBy('seq').execute();
    expect(entries.map((e) => e.seq)).toEqual(expected.map((r) => Number(r.seq)));
    expect(summary).toMatchObject({ exported: expected.length, lastSeq: Number(expected.at(-1)!.seq), filter: { locationId: 'depot-b', afterSeq: 10 }, verify: { ok: true } });
  });

  it('still exports a tampered log, and its summary says where the chain breaks', async () => {
    await removeAppendOnlyGuards(ctx.db);
    await sql`update audit_log set details = 'not json at all' where seq = 6`.execute(ctx.db);
    const { sink, text } = collectingSink();
    const summary = await exportAuditLog(ctx.db, sink);
    const { entries } = parseExport(text());
    expect(entries).toHaveLength(n);
    expect(entries[5]!.details).toEqual({ $unparsed: 'not json at all' });
    expect(summary.verify).toMatchObject({ ok: false, firstBroken: { seq: 6, reason: 'altered' } });
  });

  it('surfaces a failing destination instead of hanging', async () => {
    const broken = new Writable({
      highWaterMark: 1,
      write(_chunk, _enc, done) {
        setImmediate(() => done(new Error('disk full')));
      },
    });
    broken.on('error', () => undefined);
    await expect(exportAuditLog(ctx.db, broken, { batchSize: 1 })).rejects.toThrow('disk full');
  });
});
