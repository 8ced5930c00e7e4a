import { DatabaseTooNewError } from '../errors';
import type { Migration } from './migrations/migration';
import { latestSchemaVersion, migrations as allMigrations } from './migrations/index';
import type { SqlConnection } from './sql-binding';

export async function schemaVersion(conn: SqlConnection): Promise<number> {
  const row = await conn.get('PRAGMA user_version');
  return Number(row?.['user_version'] ?? 0);
}

/**
 * Brings the schema to `upTo` (default: latest). A file from a newer app is refused before
 * anything is written: running old code on a newer schema could lose the outbox.
 */
export async function migrate(
  conn: SqlConnection,
  migrations: readonly Migration[] = allMigrations,
  upTo: number = latestSchemaVersion,
): Promise<{ from: number; to: number }> {
  const from = await schemaVersion(conn);
  const known = migrations[migrations.length - 1]?.version ?? 0;
  if (from > known) throw new DatabaseTooNewError(from, known);
  for (const m of migrations) {
    if (m.version <= from || m.version > upTo) continue;
    await conn.exec('BEGIN IMMEDIATE');
    try {
      await m.up(conn);
      // user_version takes no bound parameters; the version is our own integer.
      await conn.exec(`PRAGMA user_version = ${Math.trunc(m.version)}`);
      await conn.exec('COMMIT');
    } catch (err) {
      await conn.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
  return { from, to: await schemaVersion(conn) };
}
