import type { Kysely } from 'kysely';

/**
 * Integration logs and unusual-activity baselines (docs/security-model.md, "Integration logs and
 * unusual activity"). Nothing here holds a body, a query string, customer data or a secret.
 *
 * `integration_calls`: one row per call of the integration API by a known integration: the
 * credential, the method, the route as its template (`/api/v1/orders/:id`, never the path with
 * ids), the status, how long it took and the caller's address. Pruned after the retention period
 * (DEPOTLINE_INTEGRATION_LOG_DAYS).
 *
 * `integration_call_counts`: calls and refused calls (401/403/404) per credential per hour, the
 * baseline a credential's volume is compared with; kept a little longer than the baseline window.
 *
 * `integration_networks`: the networks (IPv4 /24, IPv6 /48) each credential has called from.
 *
 * `integration_alert_claims`: when an unusual-activity alert of a kind was last raised for a
 * subject (a credential, or an address for calls with no known credential), so of several server
 * processes one raises it, once per window.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('integration_calls')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text')
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('integration_calls_integration_at').on('integration_calls').columns(['integration_id', 'at']).execute();
  await db.schema.createIndex('integration_calls_at').on('integration_calls').column('at').execute();

  await db.schema
    .createTable('integration_call_counts')
    .addColumn('credential_id', 'text', (c) => c.notNull())
    .addColumn('integration_id', 'text', (c) => c.notNull())
    // the hour's start, ms since the epoch
    .addColumn('hour', 'bigint', (c) => c.notNull())
    .addColumn('calls', 'integer', (c) => c.notNull())
    .addColumn('refused', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('integration_call_counts_pk', ['credential_id', 'hour'])
    .execute();
  await db.schema.createIndex('integration_call_counts_hour').on('integration_call_counts').column('hour').execute();

  await db.schema
    .createTable('integration_networks')
    .addColumn('credential_id', 'text', (c) => c.notNull())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('integration_networks_pk', ['credential_id', 'network'])
    .execute();

  await db.schema
    .createTable('integration_alert_claims')
    // `credential:<id>`, or `address:<ip>` for refused calls with no known credential
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('integration_id', 'text')
    .addColumn('alerted_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('integration_alert_claims_pk', ['subject', 'kind'])
    .execute();
}

/* eslint-enable @typescript-eslint/no-explicit-any */
