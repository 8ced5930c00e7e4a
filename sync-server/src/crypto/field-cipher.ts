import crypto from 'node:crypto';

export class FieldDecryptError extends Error {
  override name = 'FieldDecryptError';
}

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

  decrypt(value: string, aad: string): string {
    const parts = value.split('.');
    const [version, id, nonceText, bodyText] = parts;
    if (parts.length !== 4 || version !== 'v1' || !id || !nonceText || !bodyText) {
      throw new FieldDecryptError(`Encrypted field for ${aad} is not in the expected format`);
    }
    const key = this.keys.get(id);
    if (!key) throw new FieldDecryptError(`No key ${id} to decrypt ${aad}`);
    const body = Buffer.from(bodyText, 'base64url');
    if (body.length < 16) throw new FieldDecryptError(`Encrypted field for ${aad} is truncated`);
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(nonceText, 'base64url'));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new FieldDecryptError(`Encrypted field for ${aad} failed authentication`);
    }
  }

  encryptNullable(plaintext: string | null, aad: string): string | null {
    return plaintext === null ? null : this.encrypt(plaintext, aad);
  }

  decryptNullable(value: string | null, aad: string): string | null {
    return value === null ? null : this.decrypt(value, aad);
  }
}

function keyId(key: Buffer): string {
  return crypto.createHash('sha256').update('depotline-field-key-id').update(key).digest('hex').slice(0, 8);
}

/** The associated data of one encrypted column value. */
export const fieldAad = (table: string, column: string, rowId: string) => `${table}.${column}.${rowId}`;
