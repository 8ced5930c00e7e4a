import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Erased stays erased (docs/security-model.md, "The purge and its evidence"): once a stop is
 * pseudonymised, the database refuses an update that puts customer data back on it, whatever
 * code path sends it. The stop mutations refuse such edits first with a clear answer
 * (sync/mutations/stop.ts); this guard is the floor beneath them.
 *
 * Refused on a row whose `pseudonymised_at` is set: clearing `pseudonymised_at`; giving a value to
 * a customer column that holds the erased value (name, address and notes: the erased marker '';
 * phone, email, coordinates, payment reference, failure note: NULL) or to a blind-index column that
 * is NULL. Operational columns (status, sequence, window, route, versions) stay writable, and so
 * does writing the erased values again (an erasure run over a stop twice).
 */
const erased = ['customer_name_enc', 'address_enc', 'notes_enc'] as const;
const nulled = ['phone_enc', 'email_enc', 'coordinates_enc', 'payment_ref_enc', 'failure_note_enc', 'phone_bidx', 'email_bidx'] as const;

const brought = [
  'new.pseudonymised_at is null',
  ...erased.map((c) => `(old.${c} = '' and new.${c} <> '')`),
  ...nulled.map((c) => `(old.${c} is null and new.${c} is not null)`),
].join('\n    or ');

const message = 'update of stops refused: the customer data of a pseudonymised stop was erased and cannot be set again';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql.raw(`
      create function depotline_stop_erased_guard() returns trigger language plpgsql as $$
      begin
        if old.pseudonymised_at is not null and (${brought}) then
          raise exception '${message}' using errcode = 'check_violation';
        end if;
        return new;
      end $$`).execute(db);
    await sql`create trigger stops_erased_stays_erased before update on stops
      for each row execute function depotline_stop_erased_guard()`.execute(db);
    return;
  }
  await sql.raw(`create trigger stops_erased_stays_erased before update on stops
    when old.pseudonymised_at is not null and (${brought})
    begin select raise(abort, '${message}'); end`).execute(db);
}
/* eslint-enable @typescript-eslint/no-explicit-any */
