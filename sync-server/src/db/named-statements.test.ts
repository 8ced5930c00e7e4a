/**
 * Named prepared statements on PostgreSQL (db/database.ts, `useNamedStatements`): off until the
 * schema is migrated, then each hot statement is parsed once per connection; a column added under
 * a running process fails one statement, and the next prepares afresh and sees the new column.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../../test/harness';
import { type OpenDatabase, openDatabase, useNamedStatements } from './database';

describe('named prepared statements (postgres)', () => {
  let env: TestEnv;
  let opened: OpenDatabase;
  beforeAll(async () => {
    env = await createTestEnv('postgres');
    // One connection, so what it has prepared can be read back through it.
    opened = openDatabase({ kind: 'postgres', url: env.databaseUrl!, poolSize: 1 });
    await sql`create table named_probe (id int primary key)`.execute(opened.db);
    await sql`insert into named_probe values (1)`.execute(opened.db);
  });
  afterAll(async () => {
    await opened?.close();
    await env?.dispose();
  });

  const prepared = async () => (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(opened.db)).rows;
  const probe = () => sql<Record<string, unknown>>`select * from named_probe where id = ${1}`.execute(opened.db);

  it('names nothing before the switch, then parses each statement once per connection', async () => {
    await probe();
    expect(await prepared()).toEqual([]);
    useNamedStatements(opened.db);
    await probe();
    await probe();
    const names = await prepared();
    expect(names.filter((p) => p.statement.includes('from named_probe'))).toHaveLength(1);
    expect(names.every((p) => /^depotline_\d+_\d+$/.test(p.name))).toBe(true);
  });

  it('after a column is added under it, one statement fails and the next prepares afresh', async () => {
    await sql`alter table named_probe add column label text default 'x'`.execute(opened.db);
    await expect(probe()).rejects.toThrow(/cached plan must not change result type/);
    expect((await probe()).rows).toEqual([{ id: 1, label: 'x' }]);
  });
});
