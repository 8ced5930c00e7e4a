import type { RedactableStopField } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { ServerContext } from '../context';
import { fieldAad, type FieldDecryptFailure } from '../crypto/field-cipher';
import type { Database } from '../db/schema';

/**
 * A stop's customer data (name, address, phone, notes) is encrypted at the field level with a
 * key held outside the database; the associated data binds each value to its table, column and
 * row, so a ciphertext moved to another row or column does not decrypt (docs/security-model.md).
 */

type StopPiiColumns = Pick<Selectable<Database['stops']>, 'customer_name_enc' | 'address_enc' | 'phone_enc' | 'notes_enc'>;

export interface StopPii {
  customerName: string;
  address: string;
  phone: string | null;
  notes: string;
}

/** Encrypts the PII fields given; fields left undefined are not touched. */
export function encryptStopPii(ctx: ServerContext, stopId: string, pii: Partial<StopPii>): Partial<StopPiiColumns> {
  const out: Partial<StopPiiColumns> = {};
  if (pii.customerName !== undefined) out.customer_name_enc = ctx.cipher.encrypt(pii.customerName, fieldAad('stops', 'customer_name', stopId));
  if (pii.address !== undefined) out.address_enc = ctx.cipher.encrypt(pii.address, fieldAad('stops', 'address', stopId));
  if (pii.phone !== undefined) out.phone_enc = ctx.cipher.encryptNullable(pii.phone, fieldAad('stops', 'phone', stopId));
  if (pii.notes !== undefined) out.notes_enc = ctx.cipher.encrypt(pii.notes, fieldAad('stops', 'notes', stopId));
  return out;
}

/** Every PII column of a new stop. */
export function encryptNewStopPii(ctx: ServerContext, stopId: string, pii: StopPii): StopPiiColumns {
  return encryptStopPii(ctx, stopId, pii) as StopPiiColumns;
}

/** What was read of a stop's customer data: the fields that decrypted, and why each other one did not. */
export interface StopPiiRead {
  pii: Partial<StopPii>;
  /** Fields whose stored value did not decrypt, with the reason; empty when all did. */
  withheld: Partial<Record<RedactableStopField, FieldDecryptFailure>>;
}

const piiColumns: readonly { field: RedactableStopField; column: keyof StopPiiColumns; name: string }[] = [
  { field: 'customerName', column: 'customer_name_enc', name: 'customer_name' },
  { field: 'address', column: 'address_enc', name: 'address' },
  { field: 'phone', column: 'phone_enc', name: 'phone' },
  { field: 'notes', column: 'notes_enc', name: 'notes' },
];

/**
 * Decrypts a stop's customer data field by field, never throwing: a value that does not
 * decrypt (moved from another row, altered, or under a key that is not configured) is left out
 * and named in `withheld`, so one tampered value costs that value only. Reporting it is the
 * caller's part (`presentStop` does, once per record and window).
 */
export function readStopPii(ctx: ServerContext, row: StopPiiColumns & { id: string }): StopPiiRead {
  const pii: Partial<StopPii> = {};
  const withheld: StopPiiRead['withheld'] = {};
  for (const { field, column, name } of piiColumns) {
    const stored = row[column];
    if (stored === null) {
      if (field === 'phone') pii.phone = null;
      continue;
    }
    const result = ctx.cipher.tryDecrypt(stored, fieldAad('stops', name, row.id));
    if (result.ok) pii[field] = result.value;
    else withheld[field] = result.reason;
  }
  return { pii, withheld };
}
