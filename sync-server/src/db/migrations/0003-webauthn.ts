import type { Kysely } from 'kysely';

/**
 * Security-key ceremonies (docs/security-model.md, "Security keys and the relying party"). A row
 * of `webauthn_challenges` is one ceremony run on the server's own origin: the client that
 * started it polls for the result with a secret only it holds (`poll_hash`, the SHA-256 of the
 * poll token), the page at the server's origin moves it from `pending` to `answered` (an
 * assertion waiting to be presented) or `done` / `failed` (a registration), and `payload` keeps
 * what the ceremony needs (the key's name, the device it was started for, the page's answer).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('webauthn_challenges').addColumn('poll_hash', 'text').execute();
  await db.schema.alterTable('webauthn_challenges').addColumn('state', 'text', (c) => c.notNull().defaultTo('pending')).execute();
  await db.schema.alterTable('webauthn_challenges').addColumn('payload', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  // Expired ceremonies are swept by age.
  await db.schema.createIndex('webauthn_challenges_expires_at').on('webauthn_challenges').column('expires_at').execute();
}
