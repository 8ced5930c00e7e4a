import type { Migration } from './migration';

/**
 * The order a stop carries (docs/sync-protocol.md "Orders"): reference, parcels and barcodes,
 * coordinates, email, regulated-goods checks, billing and the failure reason. Which of them
 * this user may see is in `hidden_fields`, as for the customer fields.
 *
 * Stops stored before this step came without their order (an older console dropped the fields
 * it did not know), so their version goes to 0 and every location's cursor back to the start:
 * the next pull brings each stop again, whole, and replaces it. A stop with pending edits has
 * its confirmed copy completed with the defaults and marked the same way.
 */
export const migration0003: Migration = {
  version: 3,
  name: 'orders',
  async up(conn) {
    await conn.exec(`
      ALTER TABLE stops ADD COLUMN order_ref TEXT;
      ALTER TABLE stops ADD COLUMN parcel_count INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE stops ADD COLUMN barcodes TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE stops ADD COLUMN latitude REAL;
      ALTER TABLE stops ADD COLUMN longitude REAL;
      ALTER TABLE stops ADD COLUMN email TEXT;
      ALTER TABLE stops ADD COLUMN minimum_age INTEGER;
      ALTER TABLE stops ADD COLUMN id_check INTEGER NOT NULL DEFAULT 0 CHECK (id_check IN (0, 1));
      ALTER TABLE stops ADD COLUMN payment_ref TEXT;
      ALTER TABLE stops ADD COLUMN cod_amount INTEGER;
      ALTER TABLE stops ADD COLUMN delivery_fee INTEGER;
      ALTER TABLE stops ADD COLUMN currency TEXT;
      ALTER TABLE stops ADD COLUMN failure_reason TEXT;
      ALTER TABLE stops ADD COLUMN failure_note TEXT;
      -- An import looks up the stop an order reference already names.
      CREATE INDEX stops_by_order_ref ON stops(location_id, order_ref) WHERE order_ref IS NOT NULL;

      UPDATE stops SET version = 0;
      UPDATE confirmed SET version = 0,
        data = json_set(data, '$.orderRef', json('null'), '$.parcelCount', 1, '$.barcodes', json('[]'),
          '$.minimumAge', json('null'), '$.idCheck', json('false'), '$.failureReason', json('null'))
        WHERE kind = 'stop' AND data IS NOT NULL;
      UPDATE sync_cursors SET cursor = 0;
    `);
  },
};
