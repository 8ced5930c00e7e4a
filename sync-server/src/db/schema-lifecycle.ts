/**
 * Tables of the data's end of life: retention periods and legal holds (0020), and the tables the
 * purge, customer privacy and data subject requests add. Part of `Database` (schema.ts); the same
 * conventions hold: times in epoch ms, `_enc` columns field-encrypted, `_bidx`/`_key` columns blind
 * indexes (keyed hashes, never the value).
 */
export interface LifecycleTables {
  /** 0020: a period a location set for one retention class (retention/policy.ts); absent: the server default. */
  retention_policies: {
    location_id: string;
    class: string;
    days: number;
    updated_at: number;
    updated_by: string;
  };
  /**
   * 0020: a legal hold (retention/holds.ts): `scope` stop (with `stop_id`), customer (with
   * `customer_key`, a blind index of the phone or email) or location. Active while `released_at` is null.
   */
  legal_holds: {
    id: string;
    scope: string;
    location_id: string;
    stop_id: string | null;
    customer_key: string | null;
    reason: string;
    owner: string;
    placed_by: string;
    placed_at: number;
    released_at: number | null;
    released_by: string | null;
    release_reason: string | null;
  };
  /** 0023: a consent given or withdrawn (privacy/consents.ts); rows are only added, the newest per key, location and purpose is in force. */
  customer_consents: {
    id: string;
    customer_key: string;
    location_id: string;
    purpose: string;
    granted: number;
    source: string;
    recorded_at: number;
    recorded_by: string;
  };
  /** 0023: a customer's do-not-sell-or-share choice at a location (privacy/consents.ts), keyed by blind index. */
  customer_flags: {
    customer_key: string;
    location_id: string;
    do_not_sell: number;
    updated_at: number;
    updated_by: string;
  };
  /**
   * 0024: a data subject request (privacy/requests.ts). `subject_enc` is the customer it is about,
   * field-encrypted, null once erased; `location_ids` and `actions` are JSON (counts, never values).
   */
  privacy_requests: {
    id: string;
    kind: string;
    law: string;
    location_ids: string;
    status: string;
    received_at: number;
    due_at: number;
    reference: string | null;
    subject_enc: string | null;
    subject_erased_at: number | null;
    created_by: string;
    created_at: number;
    handled_by: string | null;
    updated_at: number;
    closed_at: number | null;
    close_reason: string | null;
    actions: string;
  };
  /** 0025: one row per audit prune (audit/anchor.ts); the largest `first_seq` is the anchor in force. Append-only. */
  audit_anchors: {
    first_seq: number;
    prev_hash: string;
    prune_seq: number;
    pruned_at: number;
    checkpoint_file: string;
    note_file: string;
  };
}
