import { auditAppendOnlyStatus, pendingMigrations, runtimeGrantStatements } from '../../db/roles';
import { migrations } from '../../db/migrate';
import { badRequest } from '../../errors';
import { type CliCommand, optionalString, requiredString } from '../command';

/** `db migrate` and `db grants` (docs/operations.md, "Database roles"). */

const dbMigrate: CliCommand = {
  group: 'db',
  name: 'migrate',
  summary: 'Bring the schema up to date (as DATABASE_MIGRATION_URL\'s owner role when set) and grant the server\'s role',
  options: {},
  // The explicit way to start an installation from the CLI: it may create the data directory, the database and the keys.
  initializesDatabase: true,
  notes: [
    'Also sets up a new installation: the data directory, the database and the generated keys (every other',
    'command refuses to run where there is none, so a mistyped DEPOTLINE_DATA_DIR cannot start an empty one).',
    'With DATABASE_MIGRATION_URL set, migrations run as that role, which then grants the DATABASE_URL role',
    'read and write on every table but only SELECT and INSERT on the audit log. Run it after every upgrade',
    'when the server itself is not given DATABASE_MIGRATION_URL.',
  ],
  prepare() {
    // Opening the context ran the migrations (and the grants); this reports where things stand.
    return async (ctx) => {
      const pending = await pendingMigrations(ctx.db);
      const appendOnly = await auditAppendOnlyStatus(ctx.db, ctx.dbKind);
      const names = Object.keys(migrations);
      const json = { latest: names.at(-1) ?? null, pending, appendOnly };
      const text = [`Schema up to date: ${names.length} migrations, the latest ${names.at(-1) ?? 'none'}.`, appendOnly.summary].join('\n');
      return { json, text };
    };
  },
};

const dbGrants: CliCommand = {
  group: 'db',
  name: 'grants',
  summary: 'Print the SQL that grants a runtime role what the server needs (for DBAs who run it themselves)',
  options: {
    role: { type: 'string', value: '<role>', description: 'The role the server connects as (DATABASE_URL\'s user)', required: true },
    schema: { type: 'string', value: '<schema>', description: 'The schema holding Depotline\'s tables (default public)' },
  },
  prepare(values) {
    const role = requiredString(values, 'role').trim();
    const schema = (optionalString(values, 'schema') ?? 'public').trim();
    if (role === '' || schema === '') throw badRequest(['--role and --schema must not be empty']);
    const statements = runtimeGrantStatements(role, schema);
    return () => Promise.resolve({ json: { statements }, text: statements.map((s) => `${s};`).join('\n') });
  },
};

export const databaseCommands = [dbMigrate, dbGrants];
