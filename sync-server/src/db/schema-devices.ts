/** Device enrollment's tables (migration 0029, devices/enrollment.ts). Times in ms since the epoch. */
export interface DeviceEnrollmentTables {
  /** One-time enrollment tokens: only the SHA-256 (hex) of each token is kept. */
  enrollment_tokens: {
    id: string;
    token_hash: string;
    /** JSON array of location ids the enrolled device is bound to. */
    location_ids: string;
    created_at: number;
    created_by: string;
    expires_at: number;
    used_at: number | null;
    used_by_device: string | null;
  };
  /** A console machine enrolled with a token: its Ed25519 public key (SPKI DER, base64url). */
  enrolled_devices: {
    id: string;
    public_key: string;
    name: string;
    platform: string | null;
    location_ids: string;
    token_id: string;
    enrolled_at: number;
    last_seen_at: number | null;
    revoked_at: number | null;
    revoked_by: string | null;
  };
  /** Single-use, short-lived nonces an enrolled device signs at sign-in. */
  device_challenges: { id: string; enrolled_device_id: string; nonce: string; created_at: number; expires_at: number; used_at: number | null };
  /** The `user_devices` rows (user, device id) that signed in through an enrolled device. */
  enrolled_device_users: { enrolled_device_id: string; user_id: string; device_id: string; first_at: number; last_at: number };
}
