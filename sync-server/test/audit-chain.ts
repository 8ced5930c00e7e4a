/**
 * Audit chains for tests: a realistic one written through `appendAudit`, and a large
 * synthetic one written in bulk (same hashing, far fewer round trips) for paging and speed.
 */
import type { Kysely } from 'kysely';
import { appendAudit, type AuditActor, type ChainedFields, genesisHash, hashEntry } from '../src/audit/audit-log';
import { canonicalJson } from '../src/audit/canonical';
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
