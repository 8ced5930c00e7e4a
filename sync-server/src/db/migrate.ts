import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Database } from './schema';
import * as m0001 from './migrations/0001-initial';
import * as m0002 from './migrations/0002-account-security';
import * as m0003 from './migrations/0003-webauthn';
import * as m0004 from './migrations/0004-permission-groups';
import * as m0005 from './migrations/0005-approvals';
import * as m0006 from './migrations/0006-audit-append-only';
import * as m0007 from './migrations/0007-field-key-rotation';
import * as m0008 from './migrations/0008-orders';
import * as m0009 from './migrations/0009-fleet';
import * as m0010 from './migrations/0010-integrations';
import * as m0011 from './migrations/0011-integration-credentials';
import * as m0012 from './migrations/0012-integration-orders';
import * as m0013 from './migrations/0013-webhooks';
import * as m0014 from './migrations/0014-integration-logs';
import * as m0015 from './migrations/0015-integration-order-visibility';
import * as m0016 from './migrations/0016-proof-of-delivery';
import * as m0017 from './migrations/0017-delivery-checks';
import * as m0018 from './migrations/0018-tracking-links';
import * as m0019 from './migrations/0019-check-age';
import * as m0020 from './migrations/0020-retention';
import * as m0021 from './migrations/0021-stop-lifecycle';
import * as m0022 from './migrations/0022-driver-devices';
import * as m0023 from './migrations/0023-customer-privacy';
import * as m0024 from './migrations/0024-privacy-requests';
import * as m0025 from './migrations/0025-audit-retention';
import * as m0026 from './migrations/0026-erased-stays-erased';
import * as m0028 from './migrations/0028-job-runs';
import * as m0029 from './migrations/0029-device-enrollment';

/** Every migration, in order. One file per schema version; never edit a shipped one. */
export const migrations: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-account-security': m0002,
  '0003-webauthn': m0003,
  '0004-permission-groups': m0004,
  '0005-approvals': m0005,
  '0006-audit-append-only': m0006,
  '0007-field-key-rotation': m0007,
  '0008-orders': m0008,
  '0009-fleet': m0009,
  '0010-integrations': m0010,
  '0011-integration-credentials': m0011,
  '0012-integration-orders': m0012,
  '0013-webhooks': m0013,
  '0014-integration-logs': m0014,
  '0015-integration-order-visibility': m0015,
  '0016-proof-of-delivery': m0016,
  '0017-delivery-checks': m0017,
  '0018-tracking-links': m0018,
  '0019-check-age': m0019,
  '0020-retention': m0020,
  '0021-stop-lifecycle': m0021,
  '0022-driver-devices': m0022,
  '0023-customer-privacy': m0023,
  '0024-privacy-requests': m0024,
  '0025-audit-retention': m0025,
  '0026-erased-stays-erased': m0026,
  '0028-job-runs': m0028,
  '0029-device-enrollment': m0029,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Brings the schema up to date; safe to call on every start. */
export async function migrateToLatest(db: Kysely<Database>, upTo?: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = upTo ? await migrator.migrateTo(upTo) : await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`Database migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
