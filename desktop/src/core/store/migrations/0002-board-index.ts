import type { Migration } from './migration';

/**
 * An index the routes board reads instead of the stop rows (docs/performance.md, board query).
 * Stop rows carry the customer fields, so reading them for counts decrypts most of the table on
 * every board refresh; this index holds only what the board needs from a stop:
 * - `agg` (counts per route and status of one location) walks it in route order, no table
 *   reads and no temporary B-tree for the GROUP BY;
 * - the stop-status filter seeks (location_id, route_id, status IN ...);
 * - the pending-edits count reads the stop ids of a route from it.
 * `stops_by_location(location_id)` is a prefix of it, so it goes: one index less to keep up to
 * date on every stop a sync writes.
 */
export const migration0002: Migration = {
  version: 2,
  name: 'board-index',
  async up(conn) {
    await conn.exec(`
      CREATE INDEX stops_by_location_route_status ON stops(location_id, route_id, status, id);
      DROP INDEX stops_by_location;
    `);
  },
};
