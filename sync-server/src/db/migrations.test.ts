import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../test/harness';
import { openDatabase } from './database';
import { migrateToLatest, migrations } from './migrate';

/** One test per migration: it applies cleanly on both databases, and re-running is a no-op. */
describe.each(backends)('migrations (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('0001-initial creates the schema with an empty audit chain head', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      expect(await migrateToLatest(db, '0001-initial')).toEqual(['0001-initial']);
      const head = await db.selectFrom('audit_head').selectAll().execute();
      expect(head).toEqual([{ id: 1, seq: 0, hash: '0'.repeat(64) }]);
      for (const table of ['locations', 'users', 'grants', 'grant_locations', 'sessions', 'refresh_tokens', 'drivers', 'vehicles', 'routes', 'stops', 'positions', 'changes', 'applied_mutations', 'audit_log'] as const) {
        await expect(sql`select count(*) as n from ${sql.table(table)}`.execute(db)).resolves.toBeTruthy();
      }
      expect(await migrateToLatest(db)).toEqual(Object.keys(migrations).slice(1));
      expect(await migrateToLatest(db)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('0005-approvals creates approval requests whose decision is a conditional update', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0005-approvals');
      await db.insertInto('users').values({
        id: 'u1', username: 'u1', display_name: 'U', password_hash: 'x', totp_secret_enc: null, totp_enrolled_at: null,
        totp_last_step: null, failed_logins: 0, locked_until: null, disabled_at: null, created_at: 1,
      }).execute();
      await db.insertInto('approval_requests').values({
        id: 'a1', kind: 'user.mfaDisable', change: '{"userId":"u2"}', summary: 's', reason: 'r', location_ids: '[]', hands_out: '[]',
        requested_by: 'u1', requested_by_label: 'u1', requested_at: 1, expires_at: 2, status: 'pending',
        decided_by: null, decided_by_label: null, decided_at: null, decision_note: null, stale_reason: null, used_at: null,
      }).execute();
      const decide = () => db.updateTable('approval_requests').set({ status: 'approved', decided_at: 3 })
        .where('id', '=', 'a1').where('status', '=', 'pending').executeTakeFirst();
      expect(Number((await decide()).numUpdatedRows)).toBe(1);
      expect(Number((await decide()).numUpdatedRows)).toBe(0);
      // The requester must be a real user.
      await expect(db.insertInto('approval_requests').values({
        id: 'a2', kind: 'user.mfaDisable', change: '{}', summary: 's', reason: 'r', location_ids: '[]', hands_out: '[]',
        requested_by: 'nobody', requested_by_label: 'x', requested_at: 1, expires_at: 2, status: 'pending',
        decided_by: null, decided_by_label: null, decided_at: null, decision_note: null, stale_reason: null, used_at: null,
      }).execute()).rejects.toThrow();
    } finally {
      await close();
    }
  });

  it('0004-permission-groups adds groups, their scope and the group a grant names', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0003-webauthn');
      await db.insertInto('locations').values({ id: 'loc-1', name: 'North', timezone: 'UTC', version: 0, created_at: 1 }).execute();
      await db.insertInto('users').values({ id: 'u1', username: 'u1', display_name: 'U', password_hash: 'x', totp_secret_enc: null, totp_enrolled_at: null, totp_last_step: null, failed_logins: 0, locked_until: null, disabled_at: null, created_at: 1, password_changed_at: null }).execute();
      await db.insertInto('grants').values({ id: 'g-old', user_id: 'u1', role: 'dispatcher', expires_at: null, created_at: 1, created_by: null, revoked_at: null, revoked_by: null }).execute();
      expect(await migrateToLatest(db, '0004-permission-groups')).toEqual(['0004-permission-groups']);
      // A grant made before groups existed names no group.
      expect(await db.selectFrom('grants').select('group_id').where('id', '=', 'g-old').executeTakeFirstOrThrow()).toEqual({ group_id: null });
      const group = { id: 'pg1', name: 'no-phones', description: '', permissions: '[]', denials: '["stop.readPhone"]', mfa_required: 1, must_expire: 0, version: 1, created_at: 1, created_by: null, updated_at: 1, updated_by: null, retired_at: null, retired_by: null };
      await db.insertInto('permission_groups').values(group).execute();
      // Names are unique, retired groups included.
      await expect(db.insertInto('permission_groups').values({ ...group, id: 'pg2' }).execute()).rejects.toThrow();
      await db.insertInto('permission_group_locations').values({ group_id: 'pg1', location_id: 'loc-1' }).execute();
      await db.insertInto('grants').values({ id: 'g-new', user_id: 'u1', role: 'group', group_id: 'pg1', expires_at: null, created_at: 2, created_by: null, revoked_at: null, revoked_by: null }).execute();
      // The group a grant names must exist.
      await expect(db.insertInto('grants').values({ id: 'g-bad', user_id: 'u1', role: 'group', group_id: 'nope', expires_at: null, created_at: 2, created_by: null, revoked_at: null, revoked_by: null }).execute()).rejects.toThrow();
    } finally {
      await close();
    }
  });

  it('0009-fleet lets drivers and vehicles be retired, existing ones staying active', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0007-field-key-rotation');
      await db.insertInto('locations').values({ id: 'loc-1', name: 'North', timezone: 'UTC', version: 0, created_at: 1 }).execute();
      await sql`insert into drivers (id, location_id, name, user_id) values ('d1', 'loc-1', 'D', null)`.execute(db);
      await sql`insert into vehicles (id, location_id, label, plate) values ('v1', 'loc-1', 'Van', 'P')`.execute(db);
      await migrateToLatest(db, '0009-fleet');
      expect(await db.selectFrom('drivers').select(['id', 'retired_at']).execute()).toEqual([{ id: 'd1', retired_at: null }]);
      await db.updateTable('vehicles').set({ retired_at: 1_800_000_000_000 }).where('id', '=', 'v1').execute();
      expect(await db.selectFrom('vehicles').select('retired_at').executeTakeFirstOrThrow()).toEqual({ retired_at: 1_800_000_000_000 });
    } finally {
      await close();
    }
  });

  it('0007-field-key-rotation adds the rotation progress and the withheld-value register', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0007-field-key-rotation');
      await db.insertInto('field_key_rotations').values({ id: 'r1', key_id: 'abcd1234', status: 'running', started_at: 1, updated_at: 1, finished_at: null, cursor_table: null, cursor_id: null }).execute();
      expect(await db.selectFrom('field_key_rotations').select(['batches', 'rewritten']).executeTakeFirstOrThrow()).toEqual({ batches: 0, rewritten: 0 });
      const row = { table_name: 'stops', row_id: 's1', columns: 'address', location_id: null, first_seen_at: 1, alerted_at: 1 };
      await db.insertInto('withheld_values').values(row).execute();
      // One row per record: the primary key is what deduplicates the alert.
      await expect(db.insertInto('withheld_values').values(row).execute()).rejects.toThrow();
    } finally {
      await close();
    }
  });
});

describe.each(backends)('migration 0006-audit-append-only (%s)', (backend) => {
  it('keeps every audit entry written before it, adds the checkpoint register, and from then on refuses edits', async () => {
    const env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0005-approvals');
      const entry = {
        seq: 1, at: 1, actor_user_id: null, actor: 'system', action: 'test', outcome: 'ok', target_type: null, target_id: null,
        location_id: null, details: '{}', device_id: null, ip: null, prev_hash: '0'.repeat(64), hash: 'a'.repeat(64),
      };
      await db.insertInto('audit_log').values(entry).execute();
      await db.updateTable('audit_log').set({ outcome: 'denied' }).where('seq', '=', 1).execute();
      expect(await migrateToLatest(db, '0006-audit-append-only')).toEqual(['0006-audit-append-only']);
      expect(await db.selectFrom('audit_log').select('outcome').execute()).toEqual([{ outcome: 'denied' }]);
      await db.insertInto('audit_log').values({ ...entry, seq: 2 }).execute();
      await expect(db.updateTable('audit_log').set({ outcome: 'ok' }).where('seq', '=', 1).execute()).rejects.toThrow(/append-only/);
      await expect(db.deleteFrom('audit_log').where('seq', '=', 2).execute()).rejects.toThrow(/append-only/);
      const checkpoint = { size: 2, key_id: '0123abcd', key_name: 'x', root_hash: 'a'.repeat(64), file: 'f', signed_at: 1 };
      await db.insertInto('audit_checkpoints').values(checkpoint).execute();
      await expect(db.insertInto('audit_checkpoints').values(checkpoint).execute()).rejects.toThrow();
      await expect(db.deleteFrom('audit_checkpoints').execute()).rejects.toThrow(/append-only/);
      // The head moves forward only, and stays.
      await db.updateTable('audit_head').set({ seq: 2 }).execute();
      await expect(db.updateTable('audit_head').set({ seq: 1 }).execute()).rejects.toThrow(/append-only/);
      await expect(db.deleteFrom('audit_head').execute()).rejects.toThrow(/append-only/);
      expect(await db.selectFrom('audit_log').select('seq').orderBy('seq').execute()).toEqual([{ seq: 1 }, { seq: 2 }]);
    } finally {
      await close();
      await env.dispose();
    }
  });
});

describe('SQLite file', () => {
  it('is created readable by its owner only', async () => {
    const env = await createTestEnv('sqlite');
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db);
      const fs = await import('node:fs');
      expect(fs.statSync(env.sqliteFile!).mode & 0o777).toBe(0o600);
    } finally {
      await close();
      await env.dispose();
    }
  });
});
