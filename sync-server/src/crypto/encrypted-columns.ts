import { fieldAad } from './field-cipher';

/**
 * Every field-encrypted column (`*_enc` in db/schema.ts), with how its associated data is
 * formed. Key rotation re-encrypts exactly these; a test compares this list with the columns
 * the migrated database really has, so a new encrypted column cannot be forgotten here.
 */
export interface EncryptedColumn {
  table: 'stops' | 'users' | 'webhook_subscriptions' | 'proofs' | 'privacy_requests';
  /** The stored column. */
  column:
    | 'gps_enc'
    | 'customer_name_enc' | 'address_enc' | 'phone_enc' | 'notes_enc' | 'coordinates_enc' | 'email_enc' | 'payment_ref_enc'
    | 'failure_note_enc' | 'pin_enc' | 'totp_secret_enc' | 'secret_enc' | 'previous_secret_enc' | 'subject_enc';
  /** The column's name in the associated data: `<table>.<name>.<row id>`. */
  name: string;
  /** How an alert names a row of this table. */
  targetType: string;
  /** The row's location, for tables that have one. */
  locationColumn: 'location_id' | null;
}

export const encryptedColumns: readonly EncryptedColumn[] = [
  { table: 'stops', column: 'customer_name_enc', name: 'customer_name', targetType: 'stop', locationColumn: 'location_id' },
  { table: 'stops', column: 'address_enc', name: 'address', targetType: 'stop', locationColumn: 'location_id' },
  { table: 'stops', column: 'phone_enc', name: 'phone', targetType: 'stop', locationColumn: 'location_id' },
  { table: 'stops', column: 'notes_enc', name: 'notes', targetType: 'stop', locationColumn: 'location_id' },
  { table: 'stops', column: 'coordinates_enc', name: 'coordinates', targetType: 'stop', locationColumn: 'location_id' },
  { table: 'stops', column: 'email_enc', name: 'email', targetType: 'stop', locationColumn: 'location_id' },
  { table: 'stops', column: 'payment_ref_enc', name: 'payment_ref', targetType: 'stop', locationColumn: 'location_id' },
  { table: 'stops', column: 'failure_note_enc', name: 'failure_note', targetType: 'stop', locationColumn: 'location_id' },
  { table: 'stops', column: 'pin_enc', name: 'delivery_pin', targetType: 'stop', locationColumn: 'location_id' },
  { table: 'users', column: 'totp_secret_enc', name: 'totp_secret', targetType: 'user', locationColumn: null },
  { table: 'webhook_subscriptions', column: 'secret_enc', name: 'secret', targetType: 'webhook_subscription', locationColumn: null },
  { table: 'webhook_subscriptions', column: 'previous_secret_enc', name: 'previous_secret', targetType: 'webhook_subscription', locationColumn: null },
  { table: 'proofs', column: 'gps_enc', name: 'gps', targetType: 'proof', locationColumn: 'location_id' },
  { table: 'privacy_requests', column: 'subject_enc', name: 'subject', targetType: 'privacy_request', locationColumn: null },
];

/** The tables holding encrypted columns, in the order a rotation walks them. */
export const encryptedTables: readonly EncryptedColumn['table'][] = [...new Set(encryptedColumns.map((c) => c.table))];

export const columnsOf = (table: EncryptedColumn['table']) => encryptedColumns.filter((c) => c.table === table);

export const aadOf = (c: EncryptedColumn, rowId: string) => fieldAad(c.table, c.name, rowId);
