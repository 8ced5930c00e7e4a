import crypto from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit, systemActor } from '../src/audit/audit-log';
import { verifyAuditChain } from '../src/audit/verify';
import type { ServerConfig } from '../src/config';
import type { ServerContext } from '../src/context';
import { openDatabase } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrate';
import { auditAppendOnlyStatus, grantRuntimeRole, runtimeGrantStatements } from '../src/db/roles';
import { createContext, startServer } from '../src/server';
import { runAdminJson } from './admin-cli';
import { appendSampleEntries } from './audit-chain';
import { buildUser, signIn } from './factories';
import { backends, createTestContext, createTestEnv, type TestEnv } from './harness';
import { asRole, asSuperuser, roleSeparatedEnv } from './pg-roles';

/*
 * "The server's database role cannot delete an audit row": every statement below runs on the
 * server's own connection (`ctx.db`), as a compromised server or anyone holding its
 * credentials would send it.
 */

async function refused(run: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await expect(run()).rejects.toThrow(pattern);
}

describe.each(backends)('the audit log is append-only for the server connection (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  afterEach(async () => {
    await ctx.db.destroy();
    await env.dispose();
  });

  it('refuses UPDATE and DELETE of audit entries, deleting the head and moving it back; appends still work', async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    await appendSampleEntries(ctx.db, 5);
    await refused(() => sql`update audit_log set outcome = 'denied' where seq = 3`.execute(ctx.db), /append-only/);
    await refused(() => sql`delete from audit_log where seq = 5`.execute(ctx.db), /append-only/);
    await refused(() => sql`delete from audit_log`.execute(ctx.db), /append-only/);
    await refused(() => sql`update audit_head set seq = 2`.execute(ctx.db), /append-only/);
    await refused(() => sql`delete from audit_head`.execute(ctx.db), /append-only/);
    if (backend === 'postgres') await refused(() => sql`truncate audit_log`.execute(ctx.db), /append-only/);
    // Nothing changed, and the writer still appends.
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: true, entries: 5 });
    expect(await ctx.db.transaction().execute((trx) => appendAudit(trx, systemActor, { action: 'test.after', outcome: 'ok' }))).toBe(6);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: true, entries: 6 });
  });

  it('says at start-up whether role separation is in force (zero-setup: it is not)', async () => {
    env = await createTestEnv(backend);
    const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
    const record = (msg: string, fields?: Record<string, unknown>) => void lines.push({ msg, fields });
    ctx = await createContext(env.config, { error: record, info: record, debug: record });
    expect(lines).toContainEqual({
      msg: 'audit log append-only by role separation NOT in force',
      fields: expect.objectContaining({ detail: expect.stringMatching(backend === 'sqlite' ? /triggers/ : /NOT in force/) as unknown }) as unknown,
    });
    const status = await auditAppendOnlyStatus(ctx.db, ctx.dbKind);
    expect(status.byRole).toBe(false);
    expect(status.summary).toMatch(backend === 'sqlite' ? /triggers/ : /NOT in force/);
  });
});

describe('PostgreSQL role separation: an owner role migrates, the server runs as a role that may only append to the audit log', () => {
  const tag = crypto.randomBytes(4).toString('hex');
  const ownerRole = `depotline_owner_${tag}`;
  const runtimeRole = `depotline_app_${tag}`;
  let env: TestEnv | null = null;
  let ctx: ServerContext | null = null;

  const superuser = (statements: string[]) => asSuperuser(statements);

  afterEach(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
    ctx = null;
    env = null;
    await superuser([`drop role if exists ${runtimeRole}`, `drop role if exists ${ownerRole}`]);
  });

  it('refuses UPDATE, DELETE, TRUNCATE and dropping the triggers on the server connection; the owner is still refused by the trigger', async () => {
    // The database exists first (as the test cluster's superuser), then the two roles of the operations guide.
    env = await roleSeparatedEnv(ownerRole, runtimeRole);
    const database = env.config.database as Extract<ServerConfig['database'], { kind: 'postgres' }>;
    ctx = await createTestContext(env);
    const db = ctx.db;

    const status = await auditAppendOnlyStatus(db, 'postgres');
    expect(status).toMatchObject({ byRole: true, role: runtimeRole });
    const owner = (await sql<{ owner: string }>`select tableowner as owner from pg_tables where tablename = 'audit_log'`.execute(db)).rows[0]!.owner;
    expect(owner).toBe(ownerRole);

    // The server works as this role: a real server signs a user in, which writes sessions and audit entries.
    const server = await startServer(ctx);
    ctx = null; // closed with the server
    try {
      await signIn(server.url, server.ctx, await buildUser(server.ctx));
      const entries = Number((await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      expect(entries).toBeGreaterThan(0);

      for (const statement of [
        sql`update audit_log set outcome = 'denied' where seq = 1`,
        sql`delete from audit_log where seq = 1`,
        sql`delete from audit_log`,
        sql`truncate audit_log`,
        sql`delete from audit_head`,
        sql`insert into audit_head (id, seq, hash) values (2, 0, ${'0'.repeat(64)})`,
        sql`delete from audit_checkpoints`,
      ]) {
        await refused(() => statement.execute(db), /permission denied/);
      }
      // Not the owner: the triggers stay.
      await refused(() => sql`drop trigger audit_log_append_only on audit_log`.execute(db), /must be owner/);
      await refused(() => sql`alter table audit_log disable trigger all`.execute(db), /must be owner/);
      await refused(() => sql`drop function depotline_refuse_audit_change() cascade`.execute(db), /must be owner/);
      // The head may only move forward even where UPDATE is granted.
      await refused(() => sql`update audit_head set seq = 0`.execute(db), /append-only/);
      expect(await verifyAuditChain(db)).toMatchObject({ ok: true, entries });

      // Defence in depth: the owner's own connection is refused by the trigger until it drops it, as an insider would.
      const ownerDb = openDatabase({ kind: 'postgres', url: database.migrationUrl! });
      try {
        await refused(() => sql`update audit_log set outcome = 'denied' where seq = 1`.execute(ownerDb.db), /append-only/);
      } finally {
        await ownerDb.close();
      }
    } finally {
      await server.close();
    }
  });

  it('with the owner credentials kept from the server, a pending migration stops it with what to run; `db migrate` as the owner fixes it', async () => {
    const base = await createTestEnv('postgres');
    env = base;
    await superuser([`create role ${ownerRole} login`, `create role ${runtimeRole} login`]);
    const setup = new pg.Client({ connectionString: base.databaseUrl! });
    await setup.connect();
    await setup.query(`grant create, usage on schema public to ${ownerRole}`);
    await setup.end();
    const runtimeUrl = asRole(base.databaseUrl!, runtimeRole);
    const ownerUrl = asRole(base.databaseUrl!, ownerRole);
    // An older release migrated and granted: the schema stops at 0005.
    const owner = openDatabase({ kind: 'postgres', url: ownerUrl });
    try {
      await migrateToLatest(owner.db, '0005-approvals');
      await grantRuntimeRole(owner.db, runtimeRole);
    } finally {
      await owner.close();
    }
    const runtimeOnly = { ...base, config: { ...base.config, database: { kind: 'postgres' as const, url: runtimeUrl } } };
    await expect(createTestContext(runtimeOnly)).rejects.toThrow(/depotline-admin db migrate/);

    const migrated = await runAdminJson<{ pending: string[]; appendOnly: { byRole: boolean } }>(base, ['db', 'migrate'], {
      extraEnv: { DATABASE_URL: runtimeUrl, DATABASE_MIGRATION_URL: ownerUrl },
    });
    expect(migrated).toMatchObject({ code: 0, json: { pending: [], appendOnly: { byRole: true } } });
    ctx = await createTestContext(runtimeOnly);
    expect(await auditAppendOnlyStatus(ctx.db, 'postgres')).toMatchObject({ byRole: true, role: runtimeRole });
    await refused(() => sql`delete from audit_log`.execute(ctx!.db), /permission denied/);
  });

  it('prints grants that leave the runtime role SELECT and INSERT only on the audit tables', () => {
    const statements = runtimeGrantStatements('app', 'public').join(';\n');
    expect(statements).toContain('revoke update, delete on "public"."audit_log", "public"."audit_checkpoints" from "app"');
    expect(statements).toContain('revoke truncate, references, trigger on all tables in schema "public" from "app"');
  });
});
