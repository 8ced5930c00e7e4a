import { type Kysely, Migrator, type MigrationProvider, sql } from 'kysely';
import { type Db, type DbKind, openDatabase } from './database';
import { MigrationError, migrateToLatest, migrations } from './migrate';
import type { Database } from './schema';

/**
 * Who may change what in the database (docs/operations.md, "Database roles"). On PostgreSQL
 * the schema belongs to an owner role that runs the migrations (DATABASE_MIGRATION_URL); the
 * server runs as a runtime role (DATABASE_URL) that may read and write every table, except that
 * the audit tables take only SELECT and INSERT (the head row: SELECT and UPDATE). So the server's
 * own connection, or anyone holding its credentials, cannot rewrite or delete audit entries,
 * and cannot drop the append-only triggers, which only the owner may do.
 */

/** Tables the runtime role may only read and append to. */
const appendOnlyTables = ['audit_log', 'audit_checkpoints'] as const;

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The grants for the runtime role, as SQL an operator can read or run by hand. Re-run after
 * every migration (`depotline-admin db migrate` does), so new tables are covered.
 */
export function runtimeGrantStatements(role: string, schema = 'public', existing?: ReadonlySet<string>): string[] {
  const r = quoteIdent(role);
  const s = quoteIdent(schema);
  // A schema still being migrated may lack some of the tables named: leave those out.
  const present = (tables: readonly string[]) => tables.filter((t) => !existing || existing.has(t));
  const revoke = (privileges: string, tables: readonly string[]) =>
    present(tables).length === 0 ? [] : [`revoke ${privileges} on ${present(tables).map((t) => `${s}.${quoteIdent(t)}`).join(', ')} from ${r}`];
  return [
    `grant usage on schema ${s} to ${r}`,
    `grant select, insert, update, delete on all tables in schema ${s} to ${r}`,
    `grant usage, select on all sequences in schema ${s} to ${r}`,
    `revoke truncate, references, trigger on all tables in schema ${s} from ${r}`,
    ...revoke('update, delete', appendOnlyTables),
    // 0025: prune anchors are appended with the prune; the prune deletes through the owner's function.
    ...revoke('update, delete', ['audit_anchors']),
    ...revoke('insert, delete', ['audit_head']),
    ...revoke('insert, update, delete', ['kysely_migration', 'kysely_migration_lock']),
  ];
}

async function currentRole(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ role: string }>`select current_user as role`.execute(db);
  return rows[0]!.role;
}

async function currentSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  return rows[0]!.schema;
}

export async function grantRuntimeRole(owner: Kysely<Database>, role: string): Promise<void> {
  const schema = await currentSchema(owner);
  const { rows } = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = ${schema}`.execute(owner);
  const existing = new Set(rows.map((r) => r.name));
  await owner.transaction().execute(async (trx) => {
    for (const statement of runtimeGrantStatements(role, schema, existing)) await sql.raw(statement).execute(trx);
  });
}

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

/** Migrations not yet applied; reads only, so any role that can read the schema may ask. */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const all = await new Migrator({ db, provider }).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

/**
 * Brings the schema up to date before the server uses `db`. With a migration URL, the owner
 * role migrates and then grants the runtime role (the user of `db`) its privileges; without
 * one, `db` migrates itself when something is pending (the zero-setup default, where one role
 * owns everything). Returns the migrations applied.
 */
export async function prepareSchema(db: Db, target: { kind: DbKind; migrationUrl?: string }): Promise<string[]> {
  if (target.kind === 'postgres' && target.migrationUrl) {
    const runtimeRole = await currentRole(db);
    const owner = openDatabase({ kind: 'postgres', url: target.migrationUrl, poolSize: 1 });
    try {
      const applied = await migrateToLatest(owner.db);
      if ((await currentRole(owner.db)) !== runtimeRole) await grantRuntimeRole(owner.db, runtimeRole);
      return applied;
    } finally {
      await owner.close();
    }
  }
  const pending = await pendingMigrations(db);
  if (pending.length === 0) return [];
  try {
    return await migrateToLatest(db);
  } catch (err) {
    if (err instanceof MigrationError && target.kind === 'postgres' && /permission denied|must be owner/i.test(err.message)) {
      throw new MigrationError(
        `${err.message}. The server's database role may not change the schema (pending: ${pending.join(', ')}): run \`depotline-admin db migrate\` with DATABASE_MIGRATION_URL set to the owner role's connection string, or set it for the server.`,
      );
    }
    throw err;
  }
}

export interface AppendOnlyStatus {
  /** True when this connection's role cannot UPDATE, DELETE or TRUNCATE audit entries nor drop the triggers. */
  byRole: boolean;
  role: string | null;
  /** What stops this connection rewriting the audit log, in a sentence for the start-up log. */
  summary: string;
}

/** How append-only the audit log is for this connection: checked from the privileges, not assumed from configuration. */
export async function auditAppendOnlyStatus(db: Db, kind: DbKind): Promise<AppendOnlyStatus> {
  if (kind === 'sqlite') {
    return {
      byRole: false,
      role: null,
      summary: 'SQLite: triggers refuse UPDATE and DELETE on the audit log, but whoever can write the database file can drop them; signed checkpoints catch a rewrite.',
    };
  }
  const { rows } = await sql<{ role: string; can_update: boolean; can_delete: boolean; can_truncate: boolean; owns: boolean }>`
    select current_user as role,
      has_table_privilege('audit_log', 'UPDATE') as can_update,
      has_table_privilege('audit_log', 'DELETE') as can_delete,
      has_table_privilege('audit_log', 'TRUNCATE') as can_truncate,
      pg_has_role(c.relowner, 'USAGE') as owns
    from pg_class c where c.oid = 'audit_log'::regclass`.execute(db);
  const r = rows[0]!;
  const byRole = !r.can_update && !r.can_delete && !r.can_truncate && !r.owns;
  return {
    byRole,
    role: r.role,
    summary: byRole
      ? `PostgreSQL role separation in force: the server's role "${r.role}" may only read and append audit entries.`
      : `PostgreSQL role separation is NOT in force: the server's role "${r.role}" ${r.owns ? 'owns the audit tables' : 'may change audit entries'}; only the append-only triggers stand in the way (set DATABASE_MIGRATION_URL to an owner role, see docs/operations.md).`,
  };
}
