import type { Kysely } from 'kysely';

/**
 * Proof of delivery (docs/security-model.md, "Proof of delivery"). One row per proof a driver's
 * device recorded at a stop: a photo, a signature, a PIN entry, a barcode scan, a GPS stamp, a
 * regulated-goods check or a refused handover.
 *
 * - `device_time` is the device's clock, kept next to `server_time` (the server's, the one relied on).
 * - `gps_enc`: `lat,lng` field-encrypted (crypto/encrypted-columns.ts); `gps_accuracy_m` and
 *   `distance_m` (from the stop's coordinates) are plain, so a suspicious proof is found without
 *   decrypting; `suspicious` is 1 when the stamp was farther than the policy allows.
 * - File proofs: the image as stored (re-encoded, metadata stripped) is sealed with the proof's own
 *   data key (proofs/envelope.ts); `wrapped_key` is that key wrapped by the server's proof key and
 *   `storage_key` names the sealed bytes in the file store. `sha256`, `size_bytes` and
 *   `content_type` describe the stored image (before sealing). Destroying a proof sets
 *   `wrapped_key` to NULL: the file can never be opened again, wherever a copy of it lies.
 * - `detail`: JSON, kind-specific operational values (a scan's barcode, a check's result); never
 *   customer data.
 * - `derived_from` / `annotation`: a redacted copy (for example a blurred face) is its own proof
 *   row naming its original, which stays sealed; `annotation` is JSON describing the redaction.
 * - `deleted_at` / `deleted_by`: when and by whom the proof was destroyed (the row stays as a record).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('proofs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('stop_id', 'text', (c) => c.notNull().references('stops.id'))
    .addColumn('location_id', 'text', (c) => c.notNull().references('locations.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('captured_by', 'text')
    .addColumn('captured_by_label', 'text', (c) => c.notNull())
    .addColumn('device_time', 'bigint')
    .addColumn('server_time', 'bigint', (c) => c.notNull())
    .addColumn('gps_enc', 'text')
    .addColumn('gps_accuracy_m', 'integer')
    .addColumn('distance_m', 'integer')
    .addColumn('suspicious', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('content_type', 'text')
    .addColumn('size_bytes', 'integer')
    .addColumn('sha256', 'text')
    .addColumn('wrapped_key', 'text')
    .addColumn('storage_key', 'text')
    .addColumn('detail', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('derived_from', 'text', (c) => c.references('proofs.id'))
    .addColumn('annotation', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('deleted_at', 'bigint')
    .addColumn('deleted_by', 'text')
    .execute();
  await db.schema.createIndex('proofs_stop').on('proofs').columns(['stop_id', 'server_time']).execute();
  await db.schema.createIndex('proofs_location').on('proofs').columns(['location_id', 'server_time']).execute();
}

/* eslint-enable @typescript-eslint/no-explicit-any */
