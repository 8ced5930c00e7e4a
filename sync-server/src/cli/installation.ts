import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { ServerConfig } from '../config';
import { openDatabase } from '../db/database';

/**
 * The admin CLI works on an installation that exists; it never starts a new one by accident.
 * Opening the server's context creates whatever is missing (the data directory, an empty
 * database, fresh keys), which is what a first `npm run server` should do, and exactly what a
 * mistyped `DEPOTLINE_DATA_DIR` must not do: an operator would provision users into a database
 * the server never reads, or write rows under a new field key that the real server cannot
 * decrypt. So before opening anything, every command except an explicit initialisation
 * (`db migrate`) checks that:
 *   - the data directory exists;
 *   - the SQLite file exists (on PostgreSQL: the database holds the schema);
 *   - the field key exists, when it is the generated one under the data directory (a directory
 *     that holds no field key has never been used by a server).
 * The server itself (src/main.ts) does not go through here, so its first start on a fresh
 * machine still creates everything.
 */

export class InstallationMissing extends Error {
  override name = 'InstallationMissing';
}

const setUp = 'To set up a new installation there, start the server once (npm run server) or run depotline-admin db migrate.';

export async function requireInstallation(config: ServerConfig, env: NodeJS.ProcessEnv): Promise<void> {
  const dataDirWas = env.DEPOTLINE_DATA_DIR === undefined
    ? `DEPOTLINE_DATA_DIR is not set, so the data directory is .data in the working directory: ${config.dataDir}`
    : `DEPOTLINE_DATA_DIR is ${config.dataDir}`;
  if (!isDirectory(config.dataDir)) {
    throw new InstallationMissing(`${dataDirWas}, which does not exist. Check the path (a typo would start a new, empty installation). ${setUp}`);
  }
  if (config.database.kind === 'sqlite') {
    const file = config.database.file;
    if (!fs.existsSync(file)) {
      const where = env.DEPOTLINE_SQLITE_FILE === undefined ? `in ${config.dataDir} (${dataDirWas})` : `at DEPOTLINE_SQLITE_FILE ${file}`;
      throw new InstallationMissing(`No database ${where}: expected ${path.basename(file)}. Check the path. ${setUp}`);
    }
  } else if (!(await postgresHasSchema(config.database.url))) {
    throw new InstallationMissing(`The PostgreSQL database of DATABASE_URL holds no Depotline tables: check the database name. ${setUp}`);
  }
  const fieldKey = config.fieldKey;
  const generatedFieldKey = path.join(config.dataDir, 'keys', 'field.key');
  if (!fieldKey.value && !fieldKey.file && !fs.existsSync(generatedFieldKey)) {
    throw new InstallationMissing(`${dataDirWas}, which holds no field key (keys/field.key): no server has run with this data directory. `
      + `Check the path, or set DEPOTLINE_FIELD_KEY_FILE. ${setUp}`);
  }
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

async function postgresHasSchema(url: string): Promise<boolean> {
  const opened = openDatabase({ kind: 'postgres', url, poolSize: 1 });
  const { db } = opened;
  try {
    const { rows } = await sql<{ n: number | string }>`
      select count(*) as n from information_schema.tables where table_schema = current_schema() and table_name = 'users'`.execute(db);
    return Number(rows[0]?.n ?? 0) > 0;
  } finally {
    await opened.close();
  }
}
