import type { Generated } from 'kysely';

/**
 * Tables of the parts that face the outside: integrations and their credentials, orders and logs
 * (0010-0015), webhooks and job leases (0013), tracking links (0018) and proofs of delivery (0016).
 * Part of `Database` (schema.ts); the same conventions hold: times in epoch ms, `_enc` columns
 * field-encrypted.
 */
export interface OutwardTables {
  /** 0010: an outside system registered by an admin (integrations/registry.ts). JSON lists: profile fields, canonical CIDR ranges. */
  integrations: {
    id: string;
    name: string;
    kind: string;
    contact: string;
    data_profile: string;
    ip_allowlist: string;
    auto_suspend_on_alert: number;
    /** 0015: `own` or `location` (integrations/records.ts). */
    order_visibility: Generated<string>;
    suspended_at: number | null;
    suspended_reason: string | null;
    suspended_by: string | null;
    version: number;
    created_at: number;
    created_by: string;
    updated_at: number;
    updated_by: string;
  };
  /** 0010: one machine permission of an integration at one location. */
  integration_scopes: { integration_id: string; location_id: string; permission: string };
  /** 0011: an API key of an integration, stored as the SHA-256 of its secret (integrations/api-keys.ts). `scopes`: JSON array. */
  api_keys: {
    id: string;
    integration_id: string;
    name: string;
    secret_hash: string;
    scopes: string;
    created_at: number;
    created_by: string | null;
    created_by_label: string;
    expires_at: number;
    /** Set by a rotation: when this key stops working beside its successor `replaced_by`. */
    ends_at: number | null;
    replaced_by: string | null;
    revoked_at: number | null;
    revoked_by_label: string | null;
    last_used_at: number | null;
    last_used_ip: string | null;
  };
  /** 0011: an OAuth 2.0 client of an integration (integrations/oauth-clients.ts); the previous secret works until `previous_secret_ends_at`. */
  oauth_clients: {
    id: string;
    integration_id: string;
    name: string;
    secret_hash: string;
    previous_secret_hash: string | null;
    previous_secret_ends_at: number | null;
    scopes: string;
    created_at: number;
    created_by: string | null;
    created_by_label: string;
    expires_at: number;
    rotated_at: number | null;
    revoked_at: number | null;
    revoked_by_label: string | null;
    last_used_at: number | null;
    last_used_ip: string | null;
  };
  /** 0011: an access token issued at /api/v1/oauth/token, stored as the SHA-256 of its secret. */
  oauth_tokens: { id: string; client_id: string; integration_id: string; secret_hash: string; scopes: string; issued_at: number; expires_at: number };
  /** 0012: the stops an integration created through the API (it may update only its own). */
  integration_orders: { stop_id: string; integration_id: string; location_id: string; created_at: number };
  /** 0012: an `Idempotency-Key` an integration sent with an order create: hashes, the answer's status and the stop made, no customer data. */
  idempotency_keys: {
    integration_id: string;
    key_hash: string;
    request_hash: string;
    location_id: string;
    operation: string;
    status: number;
    stop_id: string | null;
    created_at: number;
    expires_at: number;
  };
  /** 0014: one call of the integration API (integrations/call-log.ts): no body, no query string, the route as its template. */
  integration_calls: {
    id: string;
    integration_id: string;
    credential_id: string | null;
    method: string;
    route: string;
    status: number;
    latency_ms: number;
    ip: string | null;
    at: number;
  };
  /** 0014: calls and refused calls (401/403/404) per credential per hour, the volume baseline (integrations/anomalies.ts). */
  integration_call_counts: { credential_id: string; integration_id: string; hour: number; calls: number; refused: number };
  /** 0014: the networks (IPv4 /24, IPv6 /48) a credential has called from. */
  integration_networks: { credential_id: string; network: string; first_seen_at: number; last_seen_at: number };
  /** 0014: when an unusual-activity alert of a kind was last raised for a subject (`credential:<id>` or `address:<ip>`). */
  integration_alert_claims: { subject: string; kind: string; integration_id: string | null; alerted_at: number };
  /** 0013: an integration's webhook receiver (webhooks/subscriptions.ts); `events` is a JSON array; secrets field-encrypted. */
  webhook_subscriptions: {
    id: string;
    integration_id: string;
    url: string;
    events: string;
    /** Null once deleted. */
    secret_enc: string | null;
    previous_secret_enc: string | null;
    previous_secret_expires_at: number | null;
    status: 'active' | 'paused' | 'deleted';
    /** `admin` or `failing` while paused. */
    pause_reason: string | null;
    paused_at: number | null;
    failing_since: number | null;
    last_success_at: number | null;
    version: number;
    created_at: number;
    created_by: string | null;
    updated_at: number;
  };
  /** 0013: the webhook outbox (webhooks/outbox.ts): ids and operational values only; the payload is built at send time. */
  webhook_deliveries: {
    /** The Standard Webhooks `webhook-id` (`msg_...`), the same on every attempt. */
    id: string;
    subscription_id: string;
    integration_id: string;
    event_type: string;
    location_id: string;
    stop_id: string | null;
    /** JSON: the event's operational extras (a status change's from/to); never customer data. */
    data: string;
    occurred_at: number;
    created_at: number;
    /** When it is due; moved past the attempt's timeout while an attempt is in flight (the claim). */
    next_attempt_at: number;
    retry_until: number;
    attempts: number;
    status: 'pending' | 'delivered' | 'dead';
    delivered_at: number | null;
    last_attempt_at: number | null;
    last_status: string | null;
  };
  /** 0013: one delivery attempt: status code or error class, latency, next retry; no body, no headers. */
  webhook_attempts: {
    id: string;
    delivery_id: string;
    subscription_id: string;
    integration_id: string;
    event_type: string;
    attempt: number;
    at: number;
    status_code: number | null;
    error: string | null;
    latency_ms: number;
    next_retry_at: number | null;
  };
  /** 0013: a scheduled job's lease, so one process at a time runs it (webhooks/lease.ts). */
  job_leases: { name: string; holder: string; acquired_at: number; expires_at: number };
  /** 0028: each scheduled job's latest run, the schedule all processes share (db/job-leases.ts). */
  job_runs: { name: string; holder: string; started_at: number; finished_at: number | null };
  /** 0018: a customer tracking link of a stop (tracking/links.ts); the token only as its SHA-256. */
  tracking_links: {
    id: string;
    token_hash: string;
    stop_id: string;
    location_id: string;
    origin: 'auto' | 'dispatcher';
    /** The user who made it (for `auto`, the one whose dispatch did); null from the command line. */
    created_by: string | null;
    created_at: number;
    expires_at: number;
    revoked_at: number | null;
    revoked_by: string | null;
  };
  /** 0018: views of a tracking link per hour (tracking/hits.ts); audited once the hour is over. */
  tracking_link_hits: { link_id: string; location_id: string; hour: number; views: number; audited_at: number | null };
  /** 0016: a proof of delivery (proofs/records.ts). `gps_enc` field-encrypted; a file sealed under its own key, `wrapped_key` null once destroyed. */
  proofs: {
    id: string;
    stop_id: string;
    location_id: string;
    kind: string;
    captured_by: string | null;
    captured_by_label: string;
    device_time: number | null;
    server_time: number;
    gps_enc: string | null;
    gps_accuracy_m: number | null;
    distance_m: number | null;
    /** 0 or 1. */
    suspicious: Generated<number>;
    content_type: string | null;
    size_bytes: number | null;
    /** SHA-256 (hex) of the stored image before sealing. */
    sha256: string | null;
    wrapped_key: string | null;
    storage_key: string | null;
    /** JSON: kind-specific operational values; never customer data. */
    detail: Generated<string>;
    derived_from: string | null;
    annotation: string | null;
    created_at: number;
    deleted_at: number | null;
    deleted_by: string | null;
  };
  kysely_migration?: Generated<unknown>;
}
