/**
 * Issue 5, figure 5: audit verification speed, entries per second, for a 1,000,000-entry chain
 * (250,000 with --quick). The chain is written straight into the server's migrated SQLite file
 * with the server's own hashing (hashEntry, canonicalJson), entries shaped like the ones pushes
 * write; then the server's verifier (`verifyAuditChain`) walks it through the server's own
 * database layer, at its defaults (on a multi-core machine: this thread plus worker threads,
 * one per further core, each reading its own chunks). Only the walk is timed, worker start-up
 * included; the meta says who checked how many chunks.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type ChainedFields, genesisHash, hashEntry } from '../sync-server/src/audit/audit-log';
import { canonicalJson } from '../sync-server/src/audit/canonical';
import { openDatabase } from '../sync-server/src/db/database';
import type { Db } from '../sync-server/src/db/database';
import { type BenchOptions, progress } from './lib/options';
import { profiled } from './lib/profile';
import { type SectionResult, sectionEntry } from './lib/process';
import { createBenchServer } from './lib/server';
import { round } from './lib/stats';

export interface AuditVerifyFigures {
  audit_verify_per_s: number | null;
}

type VerifyResult = { ok: boolean; entries: number };
type VerifyStats = Record<string, number>;
type Verify = (db: Db, options?: { onStats?: (stats: VerifyStats) => void }) => Promise<VerifyResult>;

/** The verifier is being written alongside this bench; report `missing` rather than a number if it is not there. */
async function loadVerifier(): Promise<Verify | null> {
  const file = path.resolve(import.meta.dirname, '../sync-server/src/audit/verify.ts');
  if (!fs.existsSync(file)) return null;
  const mod = (await import(pathToFileURL(file).href)) as { verifyAuditChain?: Verify };
  return mod.verifyAuditChain ?? null;
}

const actions = ['stop.setStatus', 'stop.setStatus', 'stop.setStatus', 'stop.update', 'stop.editNotes', 'route.assign', 'auth.login', 'sync.pull'];

/** Writes `n` chained entries in one transaction with a prepared statement; returns the head hash. */
function writeChain(file: string, n: number): string {
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  const insert = sqlite.prepare(`insert into audit_log (seq, at, actor_user_id, actor, action, outcome, target_type, target_id, location_id, details, device_id, ip, prev_hash, hash)
    values (@seq, @at, @actor_user_id, @actor, @action, @outcome, @target_type, @target_id, @location_id, @details, @device_id, @ip, @prev_hash, @hash)`);
  const users = Array.from({ length: 50 }, (_, i) => ({ id: crypto.randomUUID(), label: `console-${i}-dispatcher`, device: `bench-${crypto.randomBytes(6).toString('hex')}` }));
  const start = Date.UTC(2026, 10, 23, 6, 0, 0);
  let prev = genesisHash;
  const writeRange = sqlite.transaction((from: number, to: number) => {
    for (let seq = from; seq <= to; seq++) {
      const u = users[seq % users.length]!;
      const action = actions[seq % actions.length]!;
      const fields: ChainedFields = {
        seq, at: start + seq * 7, actor_user_id: u.id, actor: u.label, action, outcome: seq % 97 === 0 ? 'denied' : 'ok',
        target_type: action.split('.')[0]!, target_id: `route-${seq % 300}-s${seq % 250}`, location_id: `depot-${String((seq % 20) + 1).padStart(2, '0')}`,
        details: canonicalJson({ mutationId: crypto.randomUUID(), to: 'delivered' }), device_id: u.device, ip: '127.0.0.1', prev_hash: prev,
      };
      prev = hashEntry(fields);
      insert.run({ ...fields, hash: prev });
    }
  });
  for (let from = 1; from <= n; from += 50_000) writeRange(from, Math.min(n, from + 49_999));
  sqlite.prepare('update audit_head set seq = ?, hash = ? where id = 1').run(n, prev);
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  sqlite.close();
  return prev;
}

export async function run(options: BenchOptions): Promise<SectionResult<AuditVerifyFigures>> {
  const entries = options.quick ? 250_000 : 1_000_000;
  const verify = await loadVerifier();
  if (!verify) {
    return { figures: { audit_verify_per_s: null }, meta: { missing: 'sync-server/src/audit/verify.ts (verifyAuditChain) not found', entries } };
  }
  const env = await createBenchServer({ kind: 'sqlite' });
  try {
    // The server's migrations create the file; then it is closed so the bulk writer has it alone.
    await env.ctx.db.destroy();
    const file = (env.config.database as { file: string }).file;
    progress('audit-verify', `writing a ${entries.toLocaleString('en')}-entry chain`);
    const t0 = performance.now();
    writeChain(file, entries);
    const writeS = (performance.now() - t0) / 1000;
    // Fresh handle, as `depotline-admin audit verify` would open it.
    const { db, close } = openDatabase({ kind: 'sqlite', file });
    try {
      progress('audit-verify', 'verifying');
      let stats: VerifyStats | null = null;
      const t1 = performance.now();
      const cpu0 = process.cpuUsage();
      // The CPU profile (DEPOTLINE_BENCH_PROFILE_DIR) covers this thread only, not the workers.
      const result = await profiled('audit-verify', () => verify(db, { onStats: (st) => { stats = st; } }));
      const s = (performance.now() - t1) / 1000;
      const cpu = process.cpuUsage(cpu0);
      if (!result.ok || result.entries !== entries) throw new Error(`verifier did not accept the chain: ${JSON.stringify(result)}`);
      const perS = entries / s;
      progress('audit-verify', `${Math.round(perS).toLocaleString('en')} entries/s (${s.toFixed(2)} s)`);
      return {
        figures: { audit_verify_per_s: round(perS, 0) },
        meta: {
          entries, verify_s: round(s, 2), write_s: round(writeS, 1), database: 'sqlite', file_mb: round(fs.statSync(file).size / 2 ** 20, 0),
          // All threads: user + system CPU seconds, and the same per entry.
          cpu_s: round((cpu.user + cpu.system) / 1e6, 2), cpu_us_per_entry: round((cpu.user + cpu.system) / entries, 2),
          cores: os.availableParallelism(), verify_stats: stats,
        },
      };
    } finally {
      await close();
    }
  } finally {
    await env.dispose();
  }
}

sectionEntry(import.meta.url, run);
