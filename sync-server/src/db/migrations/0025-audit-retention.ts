import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Audit-log retention (audit/retention.ts, audit/anchor.ts). `audit_anchors` records each prune:
 * the first seq kept, the hash of the entry before it (the compact range of the pruned prefix),
 * the `audit.prune` entry that records it, the checkpoint it ends at and its signed note.
 *
 * The append-only guards of 0006 stay, with one opening: an audit entry may be deleted only
 * below the anchor in force, and an anchor row is accepted only when the entry before its first
 * seq still exists with exactly its hash and the register holds a checkpoint signed at that size
 * with that hash. Anchor rows themselves are append-only. So deleting entries takes an anchor at a
 * signed checkpoint, and deleting a middle entry, the tail, or a prefix without one stays refused.
 *
 * PostgreSQL: the runtime role keeps no DELETE on `audit_log` (db/roles.ts); it prunes through
 * `depotline_prune_audit()`, a SECURITY DEFINER function of the owner that deletes only what
 * lies below the anchor in force, with the trigger still checking every row.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_anchors')
    .addColumn('first_seq', 'bigint', (c) => c.primaryKey())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('prune_seq', 'bigint', (c) => c.notNull())
    .addColumn('pruned_at', 'bigint', (c) => c.notNull())
    .addColumn('checkpoint_file', 'text', (c) => c.notNull())
    .addColumn('note_file', 'text', (c) => c.notNull())
    .execute();

  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`
      create function depotline_audit_log_guard() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' and old.seq < coalesce((select max(first_seq) from audit_anchors), 1) then
          return old;
        end if;
        raise exception '% on % refused: the audit log is append-only (only a prefix below a signed anchor may be pruned)', tg_op, tg_table_name
          using errcode = 'insufficient_privilege';
      end $$`.execute(db);
    // Same trigger name as 0006, so the guards are named alike on both versions.
    await sql`drop trigger audit_log_append_only on audit_log`.execute(db);
    await sql`create trigger audit_log_append_only before update or delete on audit_log
      for each row execute function depotline_audit_log_guard()`.execute(db);

    await sql`
      create function depotline_audit_anchor_check() returns trigger language plpgsql as $$
      begin
        if new.first_seq <= coalesce((select max(first_seq) from audit_anchors), 1)
          or not exists (select 1 from audit_log where seq = new.first_seq - 1 and hash = new.prev_hash)
          or not exists (select 1 from audit_checkpoints where size = new.first_seq - 1 and root_hash = new.prev_hash) then
          raise exception 'audit anchor at seq % refused: it must follow the anchor in force and end at a signed checkpoint of the log as it is', new.first_seq
            using errcode = 'insufficient_privilege';
        end if;
        return new;
      end $$`.execute(db);
    await sql`create trigger audit_anchors_check before insert on audit_anchors
      for each row execute function depotline_audit_anchor_check()`.execute(db);
    await sql`create trigger audit_anchors_append_only before update or delete on audit_anchors
      for each row execute function depotline_refuse_audit_change()`.execute(db);
    await sql`create trigger audit_anchors_no_truncate before truncate on audit_anchors
      for each statement execute function depotline_refuse_audit_change()`.execute(db);

    await sql`
      create function depotline_prune_audit() returns bigint language plpgsql security definer
      set search_path from current as $$
      declare n bigint;
      begin
        delete from audit_log where seq < coalesce((select max(first_seq) from audit_anchors), 1);
        get diagnostics n = row_count;
        return n;
      end $$`.execute(db);
    return;
  }

  await sql`drop trigger audit_log_no_delete`.execute(db);
  await sql`create trigger audit_log_no_delete before delete on audit_log
    when old.seq >= coalesce((select max(first_seq) from audit_anchors), 1)
    begin select raise(abort, 'delete on audit_log refused: the audit log is append-only (only a prefix below a signed anchor may be pruned)'); end`.execute(db);
  await sql`create trigger audit_anchors_check before insert on audit_anchors
    when new.first_seq <= coalesce((select max(first_seq) from audit_anchors), 1)
      or not exists (select 1 from audit_log where seq = new.first_seq - 1 and hash = new.prev_hash)
      or not exists (select 1 from audit_checkpoints where size = new.first_seq - 1 and root_hash = new.prev_hash)
    begin select raise(abort, 'audit anchor refused: it must follow the anchor in force and end at a signed checkpoint of the log as it is'); end`.execute(db);
  for (const op of ['update', 'delete'] as const) {
    await sql.raw(`create trigger audit_anchors_no_${op} before ${op} on audit_anchors
      begin select raise(abort, '${op} on audit_anchors refused: the audit log is append-only'); end`).execute(db);
  }
}
