import crypto from 'node:crypto';

export class FieldDecryptError extends Error {
  override name = 'FieldDecryptError';
}

/** Why a stored value did not decrypt: never the value itself. */
export type FieldDecryptFailure = 'malformed' | 'unknown_key' | 'unauthentic';

/** The outcome of `tryDecrypt`: the plaintext, or why there is none. */
export type FieldDecryptResult =
  | { ok: true; value: string }
  | { ok: false; reason: FieldDecryptFailure; keyId: string | null };

/**
 * Field-level encryption of customer PII and MFA seeds (docs/security-model.md): AES-256-GCM
 * with a random 96-bit nonce per value. The associated data binds each ciphertext to its
 * table, column and row, so a value copied into another row or column fails to decrypt.
 * The key lives outside the database; a dump of the database alone reveals nothing.
 *
 * Format: `v1.<key id>.<nonce b64url>.<ciphertext+tag b64url>`. The key id lets a later key
 * rotation decrypt old values while writing new ones with the new key.
 */
export class FieldCipher {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentId: string;

  /** @param keys newest first: the first encrypts, all decrypt. */
  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new Error('FieldCipher needs at least one key');
    for (const key of keys) {
      if (key.length !== 32) throw new Error('field keys are 32 bytes');
      this.keys.set(keyId(key), key);
    }
    this.currentId = keyId(keys[0]!);
  }

  encrypt(plaintext: string, aad: string): string {
    const key = this.keys.get(this.currentId)!;
    const nonce = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v1.${this.currentId}.${nonce.toString('base64url')}.${body.toString('base64url')}`;
  }

  /** The id of the key new values are written with. */
  get currentKeyId(): string {
    return this.currentId;
  }

  /** The ids of every key that decrypts, newest first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  decrypt(value: string, aad: string): string {
    const result = this.tryDecrypt(value, aad);
    if (result.ok) return result.value;
    const what = { malformed: 'is not in the expected format', unknown_key: `needs key ${result.keyId ?? '?'}, which is not configured`, unauthentic: 'failed authentication' };
    throw new FieldDecryptError(`Encrypted field for ${aad} ${what[result.reason]}`);
  }

  /**
   * Decrypts without throwing: a value that does not decrypt (swapped from another row, altered,
   * or under a key that is not configured) comes back as a failure with its reason, so one bad
   * value can be withheld while everything else is served (docs/security-model.md, "Tampered values").
   */
  tryDecrypt(value: string, aad: string): FieldDecryptResult {
    const parts = value.split('.');
    const [version, id, nonceText, bodyText] = parts;
    if (parts.length !== 4 || version !== 'v1' || !id || !nonceText || !bodyText) return { ok: false, reason: 'malformed', keyId: null };
    const key = this.keys.get(id);
    if (!key) return { ok: false, reason: 'unknown_key', keyId: id };
    const body = Buffer.from(bodyText, 'base64url');
    const nonce = Buffer.from(nonceText, 'base64url');
    if (body.length < 16 || nonce.length !== 12) return { ok: false, reason: 'malformed', keyId: id };
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return { ok: true, value: Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8') };
    } catch {
      return { ok: false, reason: 'unauthentic', keyId: id };
    }
  }

  encryptNullable(plaintext: string | null, aad: string): string | null {
    return plaintext === null ? null : this.encrypt(plaintext, aad);
  }

  decryptNullable(value: string | null, aad: string): string | null {
    return value === null ? null : this.decrypt(value, aad);
  }
}

/** The key id a stored value names (`v1.<key id>....`), or null when it is not in that format. */
export function keyIdOf(value: string): string | null {
  const parts = value.split('.');
  return parts.length === 4 && parts[0] === 'v1' && parts[1] ? parts[1] : null;
}

/** The id a key is known by in stored values: not secret, derived one-way from the key. */
export function keyId(key: Buffer): string {
  return crypto.createHash('sha256').update('depotline-field-key-id').update(key).digest('hex').slice(0, 8);
}

/**
 * What a required encrypted column holds once its value was erased (a pseudonymised stop): never
 * a ciphertext (those start with `v1.`), so readers take it as no value, and key rotation and the
 * key usage count skip it rather than report it as tampered.
 */
export const erasedFieldValue = '';

/** The associated data of one encrypted column value. */
export const fieldAad = (table: string, column: string, rowId: string) => `${table}.${column}.${rowId}`;
