/**
 * Audit chains for tests: a realistic one written through `appendAudit`, and a large
 * synthetic one written in bulk (same hashing, far fewer round trips) for paging and speed.
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import { appendAudit, type AuditActor, type ChainedFields, genesisHash, hashEntry } from '../src/audit/audit-log';
import { canonicalJson } from '../src/audit/canonical';
import { appendOnlyTriggers } from '../src/db/migrations/0006-audit-append-only';
import type { Database } from '../src/db/schema';

const actions = ['auth.login', 'grant.create', 'stop.setStatus', 'route.assign', 'auth.login_failed', 'access.denied'] as const;

/** `n` entries through the real writer, spread over the given locations, one transaction each. */
export async function appendSampleEntries(db: Kysely<Database>, n: number, locations: readonly string[] = ['depot-a', 'depot-b']): Promise<void> {
  const actor: AuditActor = { userId: 'user-1', label: 'dispatcher-a', deviceId: 'device-0001', ip: '127.0.0.1' };
  const start = Date.UTC(2026, 10, 22, 8, 0, 0);
  for (let i = 0; i < n; i++) {
    await db.transaction().execute((trx) =>
      appendAudit(trx, actor, {
        action: actions[i % actions.length]!,
        outcome: i % 5 === 4 ? 'denied' : 'ok',
        targetType: 'stop',
        targetId: `stop-${i}`,
        locationId: locations[i % locations.length] ?? null,
        details: { n: i, to: 'delivered', customerName: 'never stored' },
      }, start + i * 1000),
    );
  }
}

/** `n` chained entries inserted in multi-row statements, with the head set to the last one. */
export async function writeSyntheticChain(db: Kysely<Database>, n: number, chunk = 500): Promise<string> {
  let prev = genesisHash;
  const start = Date.UTC(2026, 10, 22, 8, 0, 0);
  await db.transaction().execute(async (trx) => {
    for (let from = 1; from <= n; from += chunk) {
      const rows: (ChainedFields & { hash: string })[] = [];
      for (let seq = from; seq < Math.min(from + chunk, n + 1); seq++) {
        const fields: ChainedFields = {
          seq, at: start + seq, actor_user_id: `user-${seq % 17}`, actor: `user${seq % 17}`, action: actions[seq % actions.length]!,
          outcome: 'ok', target_type: 'stop', target_id: `stop-${seq}`, location_id: seq % 2 ? 'depot-a' : 'depot-b',
          details: canonicalJson({ mutationId: `m-${seq}`, to: 'delivered' }), device_id: 'device-0001', ip: '10.0.0.7', prev_hash: prev,
        };
        prev = hashEntry(fields);
        rows.push({ ...fields, hash: prev });
      }
      await trx.insertInto('audit_log').values(rows).execute();
    }
    await trx.updateTable('audit_head').set({ seq: n, hash: prev }).where('id', '=', 1).execute();
  });
  return prev;
}

/**
 * What an insider with the owner's database access does first: remove the append-only triggers
 * (migration 0006), which the owner may and the server's runtime role may not.
 */
export async function removeAppendOnlyGuards(db: Kysely<Database>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const triggers: Readonly<Record<string, readonly string[]>> = appendOnlyTriggers[postgres ? 'postgres' : 'sqlite'];
  for (const [table, names] of Object.entries(triggers)) {
    for (const name of names) {
      if (postgres) await sql`drop trigger if exists ${sql.id(name)} on ${sql.table(table)}`.execute(db);
      else await sql`drop trigger if exists ${sql.id(name)}`.execute(db);
    }
  }
}

/**
 * The rewrite a hash chain alone cannot catch: entry `seq` gets new details, and every later
 * entry and the head are re-hashed so the chain is consistent again. Needs the guards removed.
 */
export async function rewriteChainFrom(db: Kysely<Database>, seq: number, details: string): Promise<void> {
  const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>=', seq).orderBy('seq').execute();
  const before = await db.selectFrom('audit_log').select('hash').where('seq', '=', seq - 1).executeTakeFirst();
  let prev = before?.hash ?? genesisHash;
  for (const row of rows) {
    const fields: ChainedFields = { ...row, seq: Number(row.seq), at: Number(row.at), prev_hash: prev, ...(Number(row.seq) === seq ? { details } : {}) };
    prev = hashEntry(fields);
    await db.updateTable('audit_log').set({ details: fields.details, prev_hash: fields.prev_hash, hash: prev }).where('seq', '=', fields.seq).execute();
  }
  await db.updateTable('audit_head').set({ hash: prev }).where('id', '=', 1).execute();
}
