import type { Migration } from './migration';

/**
 * The delivery PIN requirement and what was done at the door (`pinRequired`, `handover` on a
 * stop: PIN verified or locked, passing age/ID check), so the stop detail can say what is still
 * missing before `delivered`. Never the PIN itself: the server does not send it to consoles.
 * NULL: not known (a stop synced before this step); the stops' versions and every location's
 * cursor go back to the start, so the next pull brings each stop again with both.
 */
export const migration0006: Migration = {
  version: 6,
  name: 'delivery-checks',
  async up(conn) {
    await conn.exec(`
      ALTER TABLE stops ADD COLUMN pin_required INTEGER CHECK (pin_required IN (0, 1));
      ALTER TABLE stops ADD COLUMN handover TEXT;
      UPDATE stops SET version = 0;
      UPDATE sync_cursors SET cursor = 0;
    `);
  },
};
