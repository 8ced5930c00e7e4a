import type { Migration } from './migration';

/**
 * `held`: a legal hold on the server covers the stop (`Stop.held`), so the local retention sweep
 * leaves it alone however old it is; the server sends the stop again, without the flag, when the
 * hold ends, and the next sweep then applies the periods. Existing stops start not held: the
 * server says otherwise with the next copy it sends.
 */
export const migration0009: Migration = {
  version: 9,
  name: 'held-stops',
  async up(conn) {
    await conn.exec(`
      ALTER TABLE stops ADD COLUMN held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1));
    `);
  },
};
