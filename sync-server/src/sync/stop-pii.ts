import type { Coordinates, EncryptedStopField } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { ServerContext } from '../context';
import { erasedFieldValue, fieldAad, type FieldDecryptFailure } from '../crypto/field-cipher';
import type { Database } from '../db/schema';
import { stopIndexColumns } from '../privacy/blind-index';

/**
 * A stop's customer and payment data (name, address, coordinates, phone, email, notes, failure
 * note, payment reference) is encrypted at the field level with a key held outside the
 * database; the associated data binds each value to its table, column and row, so a ciphertext
 * moved to another row or column does not decrypt (docs/security-model.md).
 */

type StopPiiColumns = Pick<
  Selectable<Database['stops']>,
  'customer_name_enc' | 'address_enc' | 'phone_enc' | 'notes_enc' | 'coordinates_enc' | 'email_enc' | 'payment_ref_enc' | 'failure_note_enc'
>;

export interface StopPii {
  customerName: string;
  address: string;
  phone: string | null;
  notes: string;
  coordinates: Coordinates | null;
  email: string | null;
  paymentRef: string | null;
  failureNote: string | null;
}

interface PiiColumn<F extends EncryptedStopField = EncryptedStopField> {
  field: F;
  column: keyof StopPiiColumns;
  /** The column's name in the associated data (crypto/encrypted-columns.ts). */
  name: string;
  /** Whether the field may be absent (stored as NULL, not encrypted). */
  nullable: boolean;
  encode?: (v: NonNullable<StopPii[F]>) => string;
  decode?: (s: string) => StopPii[F] | undefined;
}

const coordinates: PiiColumn<'coordinates'> = {
  field: 'coordinates', column: 'coordinates_enc', name: 'coordinates', nullable: true,
  encode: (c) => `${c.lat},${c.lng}`,
  decode: (s) => {
    const [lat, lng] = s.split(',').map(Number);
    return lat !== undefined && lng !== undefined && Number.isFinite(lat) && Number.isFinite(lng) ? { lat, lng } : undefined;
  },
};

const piiColumns: readonly PiiColumn[] = [
  { field: 'customerName', column: 'customer_name_enc', name: 'customer_name', nullable: false },
  { field: 'address', column: 'address_enc', name: 'address', nullable: false },
  { field: 'phone', column: 'phone_enc', name: 'phone', nullable: true },
  { field: 'notes', column: 'notes_enc', name: 'notes', nullable: false },
  coordinates as PiiColumn,
  { field: 'email', column: 'email_enc', name: 'email', nullable: true },
  { field: 'paymentRef', column: 'payment_ref_enc', name: 'payment_ref', nullable: true },
  { field: 'failureNote', column: 'failure_note_enc', name: 'failure_note', nullable: true },
];

/** The column of each encrypted field's name in the associated data, e.g. `customer_name`. */
export const stopPiiColumnName: Readonly<Record<EncryptedStopField, string>> = Object.fromEntries(
  piiColumns.map((c) => [c.field, c.name]),
) as Record<EncryptedStopField, string>;

/**
 * What a required customer column holds once its value was erased (retention/stop-erasure.ts):
 * not a ciphertext, so it reads as absent, never as a value and never as tampered. Nullable
 * columns are set to NULL instead.
 */
export const erasedStopValue = erasedFieldValue;

/** The blind-index columns kept beside the phone and email (privacy/blind-index.ts). */
type StopIndexColumns = Pick<Selectable<Database['stops']>, 'phone_bidx' | 'email_bidx'>;

/**
 * Encrypts the PII fields given; fields left undefined are not touched, null ones are stored as
 * NULL. A phone or email given also sets its blind index, so every writer keeps the two in step.
 */
export function encryptStopPii(ctx: ServerContext, stopId: string, pii: Partial<StopPii>): Partial<StopPiiColumns & StopIndexColumns> {
  const out: Partial<Record<keyof StopPiiColumns, string | null>> = {};
  for (const c of piiColumns) {
    const value = pii[c.field];
    if (value === undefined) continue;
    if (value === null) {
      out[c.column] = null;
      continue;
    }
    const plain = c.encode ? c.encode(value) : typeof value === 'string' ? value : JSON.stringify(value);
    out[c.column] = ctx.cipher.encrypt(plain, fieldAad('stops', c.name, stopId));
  }
  return { ...(out as Partial<StopPiiColumns>), ...stopIndexColumns(ctx, { phone: pii.phone, email: pii.email }) };
}

/** Every PII column of a new stop, with its blind indexes. */
export function encryptNewStopPii(ctx: ServerContext, stopId: string, pii: StopPii): StopPiiColumns & StopIndexColumns {
  return encryptStopPii(ctx, stopId, pii) as StopPiiColumns & StopIndexColumns;
}

/** What was read of a stop's customer data: the fields that decrypted, and why each other one did not. */
export interface StopPiiRead {
  pii: Partial<StopPii>;
  /** Fields whose stored value did not decrypt, with the reason; empty when all did. */
  withheld: Partial<Record<EncryptedStopField, FieldDecryptFailure>>;
}

/**
 * Decrypts a stop's customer data field by field, never throwing: a value that does not
 * decrypt (moved from another row, altered, or under a key that is not configured) is left out
 * and named in `withheld`, so one tampered value costs that value only. Reporting it is the
 * caller's part (`presentStop` does, once per record and window).
 */
export function readStopPii(ctx: ServerContext, row: StopPiiColumns & { id: string }): StopPiiRead {
  const pii: Partial<Record<EncryptedStopField, unknown>> = {};
  const withheld: StopPiiRead['withheld'] = {};
  for (const c of piiColumns) {
    const stored = row[c.column];
    if (stored === null) {
      if (c.nullable) pii[c.field] = null;
      continue;
    }
    if (stored === erasedStopValue) continue;
    const result = ctx.cipher.tryDecrypt(stored, fieldAad('stops', c.name, row.id));
    const value = result.ok ? (c.decode ? c.decode(result.value) : result.value) : undefined;
    if (value !== undefined) pii[c.field] = value;
    else withheld[c.field] = result.ok ? 'malformed' : result.reason;
  }
  return { pii: pii as Partial<StopPii>, withheld };
}
