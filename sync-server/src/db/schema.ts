import type { Generated } from 'kysely';
import type { OutwardTables } from './schema-outward';
import type { LifecycleTables } from './schema-lifecycle';
import type { DeviceEnrollmentTables } from './schema-devices';

/**
 * Table types for the typed query builder. Times are integer milliseconds since the epoch;
 * columns ending in `_enc` hold field-encrypted ciphertext (crypto/field-cipher.ts) and never
 * plaintext.
 */
export interface Database extends OutwardTables, LifecycleTables, DeviceEnrollmentTables {
  locations: { id: string; name: string; timezone: string; version: number; created_at: number };
  users: {
    id: string;
    username: string;
    display_name: string;
    password_hash: string;
    totp_secret_enc: string | null;
    totp_enrolled_at: number | null;
    /** The last RFC 6238 time step accepted: a code is accepted once only. */
    totp_last_step: number | null;
    failed_logins: number;
    locked_until: number | null;
    disabled_at: number | null;
    created_at: number;
    /** 1 after an admin reset: the next sign-in must set a new password before any session. */
    must_change_password: Generated<number>;
    password_changed_at: number | null;
  };
  /** The devices a user has signed in from; failed sign-ins are counted per known device. */
  user_devices: {
    id: string;
    user_id: string;
    device_id: string;
    secret_hash: string | null;
    name: string | null;
    platform: string | null;
    first_seen_at: number;
    last_seen_at: number;
    last_ip: string | null;
    trusted_at: number | null;
    revoked_at: number | null;
    failed_logins: number;
    locked_until: number | null;
  };
  /** A sign-in from an unknown device, held until a trusted device or an admin approves it. */
  sign_in_requests: {
    id: string;
    user_id: string;
    device_row_id: string;
    ip: string | null;
    method: string;
    requested_at: number;
    expires_at: number;
    status: 'pending' | 'approved' | 'denied' | 'used';
    decided_at: number | null;
    decided_by: string | null;
    poll_hash: string;
  };
  recovery_codes: { id: string; user_id: string; code_hash: string; created_at: number; used_at: number | null };
  webauthn_credentials: {
    id: string;
    user_id: string;
    public_key: string;
    sign_count: number;
    transports: string;
    name: string;
    aaguid: string | null;
    backed_up: number;
    created_at: number;
    last_used_at: number | null;
  };
  webauthn_challenges: {
    id: string;
    user_id: string | null;
    purpose: string;
    challenge: string;
    created_at: number;
    expires_at: number;
    used_at: number | null;
    /** 0003: SHA-256 (hex) of the poll token only the ceremony's starter holds. */
    poll_hash: string | null;
    /** 0003: pending | answered | done | failed (auth/webauthn-ceremonies.ts). */
    state: Generated<string>;
    /** 0003: JSON, what the ceremony needs and the page's answer. */
    payload: Generated<string>;
  };
  security_alerts: {
    id: string;
    user_id: string;
    kind: string;
    details: string;
    at: number;
    read_at: number | null;
    device_id: string | null;
    ip: string | null;
  };
  grants: {
    id: string;
    user_id: string;
    role: string;
    expires_at: number | null;
    created_at: number;
    created_by: string | null;
    revoked_at: number | null;
    revoked_by: string | null;
    /** 0004: the custom group the grant names (then `role` is `'group'`, which no template is). */
    group_id: string | null;
  };
  grant_locations: { grant_id: string; location_id: string };
  /** 0004: custom permission groups; `permissions` and `denials` are JSON arrays of catalogue names. */
  permission_groups: {
    id: string;
    name: string;
    description: string;
    permissions: string;
    denials: string;
    mfa_required: number;
    must_expire: number;
    version: number;
    created_at: number;
    created_by: string | null;
    updated_at: number;
    updated_by: string | null;
    retired_at: number | null;
    retired_by: string | null;
  };
  /** 0004: a group's scope, the locations where it may be granted. */
  permission_group_locations: { group_id: string; location_id: string };
  sessions: {
    id: string;
    user_id: string;
    device_id: string;
    device_name: string | null;
    ip: string | null;
    created_at: number;
    last_seen_at: number;
    expires_at: number;
    revoked_at: number | null;
    revoke_reason: string | null;
    /** 0022: this session's idle limit in seconds (the driver limit), or null for the server-wide one. */
    idle_timeout_s: Generated<number | null>;
  };
  refresh_tokens: { token_hash: string; session_id: string; created_at: number; used_at: number | null };
  /** 0009: `retired_at` set when a manager retired the driver (kept for history, never assigned again). */
  drivers: { id: string; location_id: string; name: string; user_id: string | null; retired_at: number | null };
  /** 0009: `retired_at` likewise. */
  vehicles: { id: string; location_id: string; label: string; plate: string; retired_at: number | null };
  routes: {
    id: string;
    location_id: string;
    name: string;
    date: string;
    driver_id: string | null;
    vehicle_id: string | null;
    version: number;
    updated_at: number;
    updated_by: string | null;
    /** 0022: when the last stop reached a final state; null while a stop is open (sync/route-completion.ts). */
    completed_at: Generated<number | null>;
    /** 0022: completion plus the grace period: the driver's own access ends then (sync/driver-access.ts). */
    driver_access_until: Generated<number | null>;
    /** 0022: when the driver's device was told to remove the route, its access being over. */
    driver_removal_at: Generated<number | null>;
  };
  stops: {
    id: string;
    location_id: string;
    route_id: string;
    sequence: number;
    customer_name_enc: string;
    address_enc: string;
    phone_enc: string | null;
    notes_enc: string;
    window_start: number;
    window_end: number;
    status: string;
    eta: number | null;
    version: number;
    updated_at: number;
    updated_by: string | null;
    /** Order data (0008-orders). Unique per location when set. */
    order_ref: string | null;
    parcel_count: Generated<number>;
    /** JSON array of the barcodes expected. */
    barcodes: Generated<string>;
    /** `lat,lng`, encrypted. */
    coordinates_enc: string | null;
    email_enc: string | null;
    minimum_age: number | null;
    /** 0 or 1. */
    id_check: Generated<number>;
    payment_ref_enc: string | null;
    /** Minor units of `currency`. */
    cod_amount: number | null;
    delivery_fee: number | null;
    currency: string | null;
    failure_reason: string | null;
    failure_note_enc: string | null;
    /** Delivery PIN (0017-delivery-checks): 0 or 1. */
    pin_required: Generated<number>;
    /** HMAC of the PIN under a server key (proofs/delivery-pin.ts); null when none is required. */
    pin_hash: string | null;
    /** The PIN, encrypted, for the tracking page only. */
    pin_enc: string | null;
    /** Wrong PINs so far; at the limit the stop is locked until a dispatcher unlocks it. */
    pin_failures: Generated<number>;
    pin_verified_at: number | null;
    /** The kind of the passing regulated-goods check recorded (`age` or `id`), or null. */
    check_passed: string | null;
    /** The `minimum_age` a passing age check was made against (0019-check-age); null for none or an ID check. */
    check_min_age: number | null;
    /** When the stop lost its customer's identity (0021-stop-lifecycle); null while it has it. */
    pseudonymised_at: number | null;
    /** Blind indexes of the normalised phone and email (privacy/blind-index.ts); null when none. */
    phone_bidx: string | null;
    email_bidx: string | null;
  };
  /** 0017: an age or ID check recorded at the door: document type and result only, never a number or a date of birth. */
  delivery_checks: {
    id: string;
    stop_id: string;
    location_id: string;
    kind: string;
    document_type: string;
    result: string;
    /** 0 or 1 for an age check, null for an ID check. */
    over_threshold: number | null;
    recorded_by: string;
    device_time: number | null;
    recorded_at: number;
  };
  positions: {
    driver_id: string;
    location_id: string;
    lat: number;
    lng: number;
    heading_deg: number | null;
    speed_kmh: number | null;
    recorded_at: number;
    version: number;
  };
  /** 0022: every position a driver's device sent (`positions` keeps the last); the driver location history retention class. */
  position_history: {
    id: string;
    driver_id: string;
    location_id: string;
    lat: number;
    lng: number;
    heading_deg: number | null;
    speed_kmh: number | null;
    recorded_at: number;
  };
  /** Per-location change log: ids only, never PII; the entity's current row is the payload. */
  changes: { location_id: string; version: number; entity: string; entity_id: string; at: number };
  /** Mutation ids already applied, so a replayed push applies nothing twice. */
  applied_mutations: { id: string; user_id: string; location_id: string; version: number; applied_at: number };
  audit_log: {
    seq: number;
    at: number;
    actor_user_id: string | null;
    actor: string;
    action: string;
    outcome: string;
    target_type: string | null;
    target_id: string | null;
    location_id: string | null;
    details: string;
    device_id: string | null;
    ip: string | null;
    prev_hash: string;
    hash: string;
  };
  /** One row: the newest audit entry, so appends serialize and truncation is detectable. */
  audit_head: { id: number; seq: number; hash: string };
  /**
   * Every audit checkpoint the server signed; the signed note itself is a file outside the database.
   * 0025: `recorded_at` is set by the database when the row is registered (null: before 0025).
   */
  audit_checkpoints: { size: number; key_id: string; key_name: string; root_hash: string; file: string; signed_at: number; recorded_at: Generated<number | null> };
  /** 0007: one `keys rotate-field-key` run; its cursor moves with each batch (provisioning/field-key-rotation.ts). */
  field_key_rotations: {
    id: string;
    key_id: string;
    status: 'running' | 'finished' | 'superseded';
    started_at: number;
    updated_at: number;
    finished_at: number | null;
    cursor_table: string | null;
    cursor_id: string | null;
    batches: Generated<number>;
    rewritten: Generated<number>;
  };
  /** 0007: a record holding values that did not decrypt, and when its alert was last raised (audit/withheld-values.ts). */
  withheld_values: { table_name: string; row_id: string; columns: string; location_id: string | null; first_seen_at: number; alerted_at: number };
  /** 0005: a request for a sensitive change, waiting for (or decided by) a second person (approvals/). */
  approval_requests: {
    id: string;
    kind: string;
    /** JSON: the change, parsed with its kind's schema again before it is applied. */
    change: string;
    summary: string;
    reason: string;
    /** JSON array: the locations the change touches, at request time. */
    location_ids: string;
    /** JSON array: the permissions the change hands out, at request time. */
    hands_out: string;
    requested_by: string;
    requested_by_label: string;
    requested_at: number;
    expires_at: number;
    status: 'pending' | 'approved' | 'denied' | 'withdrawn' | 'expired' | 'stale';
    decided_by: string | null;
    decided_by_label: string | null;
    decided_at: number | null;
    decision_note: string | null;
    stale_reason: string | null;
    used_at: number | null;
  };
}
