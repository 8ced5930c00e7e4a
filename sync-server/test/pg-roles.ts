/**
 * PostgreSQL role separation for tests (docs/operations.md, "Database roles"): an owner role
 * that migrates and a runtime role the server runs as, on a fresh test database.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { afterEach } from 'vitest';
import type { ServerConfig } from '../src/config';
import type { ServerContext } from '../src/context';
import { createTestContext, createTestEnv, type TestEnv } from './harness';

/** The same connection string, signing in as `role` (test roles have no password). */
export function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  return u.toString();
}

/** Runs `statements` on `url` (by default the test cluster's superuser connection). */
export async function asSuperuser(statements: string[], url = process.env.DEPOTLINE_TEST_PG_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database, the two roles created, and a config where the server runs as the runtime
 * role and migrates as the owner. Drop the roles after the test (`asSuperuser(['drop role ...'])`).
 */
export async function roleSeparatedEnv(ownerRole: string, runtimeRole: string): Promise<TestEnv> {
  const base = await createTestEnv('postgres');
  await asSuperuser([`create role ${ownerRole} login`, `create role ${runtimeRole} login`]);
  const dbName = new URL(base.databaseUrl!).pathname.slice(1);
  await asSuperuser([`grant create, usage on schema public to ${ownerRole}`], base.databaseUrl!);
  await asSuperuser([`grant connect on database ${dbName} to ${ownerRole}, ${runtimeRole}`]);
  const database: ServerConfig['database'] = {
    kind: 'postgres', url: asRole(base.databaseUrl!, runtimeRole), migrationUrl: asRole(base.databaseUrl!, ownerRole),
  };
  return { ...base, config: { ...base.config, database } };
}

/** The owner role's connection string of an environment made by `roleSeparatedEnv`. */
export function ownerUrl(env: TestEnv): string {
  if (env.config.database.kind !== 'postgres' || !env.config.database.migrationUrl) throw new Error('not a role-separated PostgreSQL environment');
  return env.config.database.migrationUrl;
}

/**
 * For a describe block: `open()` gives a role-separated environment and the server's context
 * on it (running as the runtime role); after each test both are closed and the roles dropped.
 */
export function roleSeparatedContexts(): { runtimeRole: string; open(): Promise<{ env: TestEnv; ctx: ServerContext }> } {
  const tag = crypto.randomBytes(4).toString('hex');
  const ownerRole = `depotline_owner_${tag}`;
  const runtimeRole = `depotline_app_${tag}`;
  let opened: { env: TestEnv; ctx: ServerContext } | null = null;
  afterEach(async () => {
    await opened?.ctx.db.destroy();
    await opened?.env.dispose();
    opened = null;
    await asSuperuser([`drop role if exists ${runtimeRole}`, `drop role if exists ${ownerRole}`]);
  });
  return {
    runtimeRole,
    async open() {
      const env = await roleSeparatedEnv(ownerRole, runtimeRole);
      opened = { env, ctx: await createTestContext(env) };
      return opened;
    },
  };
}
