import type { Migration } from './migration';

/**
 * Planning settings this device keeps for itself: the column mapping of order imports, remembered
 * per depot (which column of the depot's files fills which order field). Dropped with its depot.
 */
export const migration0004: Migration = {
  version: 4,
  name: 'planning-local',
  async up(conn) {
    await conn.exec(`
      CREATE TABLE import_mappings (
        location_id TEXT PRIMARY KEY REFERENCES locations(id) ON DELETE CASCADE,
        mapping TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
};
