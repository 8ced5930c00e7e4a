import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * The audit log becomes append-only in the database itself (docs/security-model.md, "Audit log"):
 * triggers refuse UPDATE and DELETE on `audit_log` and on the new `audit_checkpoints` (and
 * TRUNCATE on PostgreSQL), and refuse deleting the head row or moving it backwards. On
 * PostgreSQL this is defence in depth behind role separation (docs/operations.md, "Database
 * roles"): the server's runtime role holds no UPDATE, DELETE or TRUNCATE on these tables and,
 * not owning them, cannot drop or disable the triggers; the owner can, and that is the insider
 * the signed checkpoints catch.
 *
 * `audit_checkpoints` lists every checkpoint the server signed (size, head hash, key, file name),
 * so `audit verify` notices a checkpoint file that was deleted from the checkpoint directory.
 */

/** Trigger names by table, for tests that play the insider who removes them (as the owner can). */
export const appendOnlyTriggers = {
  sqlite: {
    audit_log: ['audit_log_no_update', 'audit_log_no_delete'],
    audit_checkpoints: ['audit_checkpoints_no_update', 'audit_checkpoints_no_delete'],
    audit_head: ['audit_head_no_delete', 'audit_head_never_back'],
  },
  postgres: {
    audit_log: ['audit_log_append_only', 'audit_log_no_truncate'],
    audit_checkpoints: ['audit_checkpoints_append_only', 'audit_checkpoints_no_truncate'],
    audit_head: ['audit_head_no_delete', 'audit_head_no_truncate', 'audit_head_never_back'],
  },
} as const;

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('key_name', 'text', (c) => c.notNull())
    .addColumn('root_hash', 'text', (c) => c.notNull())
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('signed_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_checkpoints_pk', ['size', 'key_id'])
    .execute();

  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`
      create function depotline_refuse_audit_change() returns trigger language plpgsql as $$
      begin
        raise exception '% on % refused: the audit log is append-only', tg_op, tg_table_name
          using errcode = 'insufficient_privilege';
      end $$`.execute(db);
    for (const table of ['audit_log', 'audit_checkpoints']) {
      await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
        for each row execute function depotline_refuse_audit_change()`.execute(db);
    }
    await sql`create trigger audit_head_no_delete before delete on audit_head
      for each row execute function depotline_refuse_audit_change()`.execute(db);
    await sql`create trigger audit_head_never_back before update on audit_head
      for each row when (new.seq < old.seq) execute function depotline_refuse_audit_change()`.execute(db);
    for (const table of ['audit_log', 'audit_checkpoints', 'audit_head']) {
      await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
        for each statement execute function depotline_refuse_audit_change()`.execute(db);
    }
    return;
  }
  for (const table of ['audit_log', 'audit_checkpoints']) {
    for (const op of ['update', 'delete'] as const) {
      await sql.raw(`create trigger ${table}_no_${op} before ${op} on ${table}
        begin select raise(abort, '${op} on ${table} refused: the audit log is append-only'); end`).execute(db);
    }
  }
  await sql`create trigger audit_head_no_delete before delete on audit_head
    begin select raise(abort, 'delete on audit_head refused: the audit log is append-only'); end`.execute(db);
  await sql`create trigger audit_head_never_back before update of seq on audit_head when new.seq < old.seq
    begin select raise(abort, 'moving audit_head back refused: the audit log is append-only'); end`.execute(db);
}
