import type { Migration } from './migration';

/**
 * Drivers and vehicles a manager retired (`retiredAt` on the server's driver and vehicle
 * changes): kept, so past routes still name them, and never offered for assignment again.
 * NULL: active (and every row synced before this version, until the server sends it again).
 */
export const migration0005: Migration = {
  version: 5,
  name: 'fleet-retired',
  async up(conn) {
    await conn.exec(`
      ALTER TABLE drivers ADD COLUMN retired_at INTEGER;
      ALTER TABLE vehicles ADD COLUMN retired_at INTEGER;
    `);
  },
};
