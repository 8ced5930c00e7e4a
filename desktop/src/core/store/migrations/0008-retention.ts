import type { Migration } from './migration';

/**
 * Local retention: each location's periods as the server last listed them (`retention`, the
 * JSON of LocationRetention; NULL while the server has not said), so a console that has been
 * offline still applies them (retention-sweep.ts). `pseudonymised` marks a stop whose customer
 * identity is gone, by the server's purge or erasure or by the local sweep; its operational
 * facts stay. The indexes serve the sweep's cutoff queries per location: every stop for the
 * delivery period, and (partial) only the stops not yet pseudonymised for the contact period, so
 * an hourly sweep does not walk the months of already pseudonymised stops.
 */
export const migration0008: Migration = {
  version: 8,
  name: 'retention',
  async up(conn) {
    await conn.exec(`
      ALTER TABLE locations ADD COLUMN retention TEXT;
      ALTER TABLE stops ADD COLUMN pseudonymised INTEGER NOT NULL DEFAULT 0 CHECK (pseudonymised IN (0, 1));
      CREATE INDEX stops_by_location_window_end ON stops(location_id, window_end);
      CREATE INDEX stops_identified_by_window_end ON stops(location_id, window_end) WHERE pseudonymised = 0;
      CREATE INDEX proof_cache_by_stop ON proof_cache(stop_id);
    `);
  },
};
