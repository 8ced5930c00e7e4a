import { type Kysely, PostgresAdapter, sql } from 'kysely';
import { sqliteCheckpointUpdateGuard } from '../src/db/migrations/0025-audit-retention';
import type { Database } from '../src/db/schema';
import { asSuperuser } from './pg-roles';

const day = 86_400_000;

/**
 * Plays the owner ageing the checkpoint register: the database stamps each row's `recorded_at`
 * with its own clock (migration 0025) and an anchor needs a checkpoint registered a day ago, while
 * tests sign and prune within seconds. Moves every row's `recorded_at` back by `ms`, past the
 * append-only guard (only the owner may). With role separation, pass the owner's connection string.
 */
export async function ageCheckpointRegister(db: Kysely<Database>, ms = 2 * day, ownerUrl?: string): Promise<void> {
  const pgStatements = [
    'alter table audit_checkpoints disable trigger audit_checkpoints_append_only',
    `update audit_checkpoints set recorded_at = coalesce(recorded_at, 0) - ${Math.round(ms)}`,
    'alter table audit_checkpoints enable trigger audit_checkpoints_append_only',
  ];
  if (ownerUrl) return asSuperuser(['begin', ...pgStatements, 'commit'], ownerUrl);
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await db.transaction().execute(async (trx) => {
      for (const s of pgStatements) await sql.raw(s).execute(trx);
    });
    return;
  }
  await db.transaction().execute(async (trx) => {
    await sql`drop trigger audit_checkpoints_no_update`.execute(trx);
    await sql`update audit_checkpoints set recorded_at = coalesce(recorded_at, 0) - ${Math.round(ms)}`.execute(trx);
    await sql.raw(sqliteCheckpointUpdateGuard).execute(trx);
  });
}
