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
 * The audit floor is kept by the database too, on its own clock: an anchor is accepted only when
 * every entry it would prune (from the anchor in force up to its first seq) was written more than
 * `auditFloorDays` before the database's time, and no entry younger than that may be deleted at
 * all. An entry's `at` is set by the server when it appends the entry and can never be changed, so
 * a role that can only append cannot make the log's recent entries look old: an entry it appends
 * with an old `at` lies after them, and an anchor reaching it must prune them too.
 *
 * A checkpoint also has to have been in the register for `checkpointMinAgeHours` (by the
 * database's clock) before an anchor may end at it. The register row's `recorded_at` is set by the
 * database when the row is inserted and cannot be set or changed by the server, so a register
 * row made up by whoever holds the server's database role (which may insert checkpoints: the
 * server signs them) cannot be used at once; meanwhile the checkpoint signer refuses to sign
 * while a register row has no signed file (audit/checkpoint-guard.ts), which raises the alarm.
 * Rows registered before this migration have no `recorded_at` and count as old enough.
 *
 * PostgreSQL: the runtime role keeps no DELETE on `audit_log` (db/roles.ts); it prunes through
 * `depotline_prune_audit()`, a SECURITY DEFINER function of the owner that deletes only what
 * lies below the anchor in force, with the trigger still checking every row.
 */

/** No audit entry younger than this may be pruned, whatever the server asks (audit/retention.ts). */
export const auditFloorDays = 365;
const floorMs = auditFloorDays * 86_400_000;
/** How long a checkpoint must have been registered before an anchor may end at it. */
export const checkpointMinAgeHours = 24;
/** The database's time in epoch ms. */
const pgNow = '(extract(epoch from now()) * 1000)::bigint';
const sqliteNow = "cast((julianday('now') - 2440587.5) * 86400000 as integer)";
/** The newest `at` a pruned entry may have. */
const pgFloor = `${pgNow} - ${floorMs}`;
const sqliteFloor = `${sqliteNow} - ${floorMs}`;
/** The register row at the anchor's boundary, registered long enough ago. */
const checkpointAt = (now: string) => `select 1 from audit_checkpoints where size = new.first_seq - 1 and root_hash = new.prev_hash
      and coalesce(recorded_at, 0) <= ${now} - ${checkpointMinAgeHours * 3_600_000}`;

/**
 * SQLite: the 0006 guard refusing updates of the register, now letting through only the one
 * update the insert trigger makes (stamping a new row's `recorded_at` with the database's time).
 * Exported for tests that play the owner ageing the register.
 */
export const sqliteCheckpointUpdateGuard = `create trigger audit_checkpoints_no_update before update on audit_checkpoints
    when not (old.recorded_at is null and new.recorded_at is not null and abs(new.recorded_at - ${sqliteNow}) < 60000
      and new.size = old.size and new.key_id = old.key_id and new.key_name = old.key_name and new.root_hash = old.root_hash
      and new.file = old.file and new.signed_at = old.signed_at)
    begin select raise(abort, 'update on audit_checkpoints refused: the audit log is append-only'); end`;

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
  await db.schema.alterTable('audit_checkpoints').addColumn('recorded_at', 'bigint').execute();

  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`
      create function depotline_audit_checkpoint_recorded() returns trigger language plpgsql as $$
      begin
        new.recorded_at := ${sql.raw(pgNow)};
        return new;
      end $$`.execute(db);
    await sql`create trigger audit_checkpoints_recorded before insert on audit_checkpoints
      for each row execute function depotline_audit_checkpoint_recorded()`.execute(db);

    await sql`
      create function depotline_audit_log_guard() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' and old.seq < coalesce((select max(first_seq) from audit_anchors), 1) and old.at < ${sql.raw(pgFloor)} then
          return old;
        end if;
        raise exception '% on % refused: the audit log is append-only (only a prefix below a signed anchor, older than ${sql.raw(String(auditFloorDays))} days, may be pruned)', tg_op, tg_table_name
          using errcode = 'insufficient_privilege';
      end $$`.execute(db);
    // Same trigger name as 0006, so the guards are named alike on both versions.
    await sql`drop trigger audit_log_append_only on audit_log`.execute(db);
    await sql`create trigger audit_log_append_only before update or delete on audit_log
      for each row execute function depotline_audit_log_guard()`.execute(db);

    await sql`
      create function depotline_audit_anchor_check() returns trigger language plpgsql as $$
      declare kept_from bigint := coalesce((select max(first_seq) from audit_anchors), 1);
      begin
        if new.first_seq <= kept_from
          or not exists (select 1 from audit_log where seq = new.first_seq - 1 and hash = new.prev_hash)
          or not exists (${sql.raw(checkpointAt(pgNow))})
          or (select max(at) from audit_log where seq >= kept_from and seq < new.first_seq) >= ${sql.raw(pgFloor)} then
          raise exception 'audit anchor at seq % refused: it must follow the anchor in force, end at a checkpoint of the log as it is registered at least ${sql.raw(String(checkpointMinAgeHours))} hours ago, and prune only entries older than ${sql.raw(String(auditFloorDays))} days', new.first_seq
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

  await sql`drop trigger audit_checkpoints_no_update`.execute(db);
  await sql.raw(sqliteCheckpointUpdateGuard).execute(db);
  await sql`create trigger audit_checkpoints_recorded after insert on audit_checkpoints
    begin update audit_checkpoints set recorded_at = ${sql.raw(sqliteNow)} where size = new.size and key_id = new.key_id; end`.execute(db);
  await sql`create trigger audit_checkpoints_record_by_db before insert on audit_checkpoints when new.recorded_at is not null
    begin select raise(abort, 'audit checkpoint refused: the database records when it was registered'); end`.execute(db);
  await sql`drop trigger audit_log_no_delete`.execute(db);
  await sql`create trigger audit_log_no_delete before delete on audit_log
    when old.seq >= coalesce((select max(first_seq) from audit_anchors), 1) or old.at >= ${sql.raw(sqliteFloor)}
    begin select raise(abort, 'delete on audit_log refused: the audit log is append-only (only a prefix below a signed anchor, older than ${sql.raw(String(auditFloorDays))} days, may be pruned)'); end`.execute(db);
  await sql`create trigger audit_anchors_check before insert on audit_anchors
    when new.first_seq <= coalesce((select max(first_seq) from audit_anchors), 1)
      or not exists (select 1 from audit_log where seq = new.first_seq - 1 and hash = new.prev_hash)
      or not exists (${sql.raw(checkpointAt(sqliteNow))})
      or (select max(at) from audit_log where seq >= coalesce((select max(first_seq) from audit_anchors), 1) and seq < new.first_seq) >= ${sql.raw(sqliteFloor)}
    begin select raise(abort, 'audit anchor refused: it must follow the anchor in force, end at a checkpoint of the log as it is registered at least ${sql.raw(String(checkpointMinAgeHours))} hours ago, and prune only entries older than ${sql.raw(String(auditFloorDays))} days'); end`.execute(db);
  for (const op of ['update', 'delete'] as const) {
    await sql.raw(`create trigger audit_anchors_no_${op} before ${op} on audit_anchors
      begin select raise(abort, '${op} on audit_anchors refused: the audit log is append-only'); end`).execute(db);
  }
}
