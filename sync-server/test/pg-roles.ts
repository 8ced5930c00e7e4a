/**
 * PostgreSQL role separation for tests (docs/operations.md, "Database roles"): an owner role
 * that migrates and a runtime role the server runs as, on a fresh test database.
 */
import pg from 'pg';
import type { ServerConfig } from '../src/config';
import { createTestEnv, type TestEnv } from './harness';

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
