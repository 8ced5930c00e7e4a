import type { Selectable } from 'kysely';
import type { ServerContext } from '../context';
import { fieldAad } from '../crypto/field-cipher';
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

export function decryptStopPii(ctx: ServerContext, row: StopPiiColumns & { id: string }): StopPii {
  return {
    customerName: ctx.cipher.decrypt(row.customer_name_enc, fieldAad('stops', 'customer_name', row.id)),
    address: ctx.cipher.decrypt(row.address_enc, fieldAad('stops', 'address', row.id)),
    phone: ctx.cipher.decryptNullable(row.phone_enc, fieldAad('stops', 'phone', row.id)),
    notes: ctx.cipher.decrypt(row.notes_enc, fieldAad('stops', 'notes', row.id)),
  };
}
