import crypto from 'node:crypto';
import { inspect } from 'node:util';

const hexPattern = /^[0-9a-f]{64}$/;

/**
 * A 256-bit raw SQLCipher key. The bytes are private and every way of turning the object
 * into text (template strings, JSON, console.log, util.inspect) prints a placeholder, so a
 * careless log line or error report cannot leak the key. Only the store's driver asks for
 * the SQL literal, and only the vault asks for the hex it keeps in the keychain.
 */
export class DatabaseKey {
  readonly #bytes: Buffer;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  static generate(): DatabaseKey {
    return new DatabaseKey(crypto.randomBytes(32));
  }

  /** Null when `hex` is not 64 lower-case hex digits. */
  static fromHex(hex: string): DatabaseKey | null {
    return hexPattern.test(hex) ? new DatabaseKey(Buffer.from(hex, 'hex')) : null;
  }

  /** For the keychain entry only. */
  toHexForKeychain(): string {
    return this.#bytes.toString('hex');
  }

  /**
   * The raw-key form of SQLCipher's `PRAGMA key` / `PRAGMA rekey` value: `"x'<64 hex>'"`.
   * A raw key skips PBKDF2 (the key is already random), see
   * https://www.zetetic.net/sqlcipher/sqlcipher-api/#key (Raw Key Data).
   */
  toSqlLiteral(): string {
    return `"x'${this.#bytes.toString('hex')}'"`;
  }

  /** AES key bytes, for tests that decrypt pages to prove what is (not) on disk. */
  copyBytes(): Buffer {
    return Buffer.from(this.#bytes);
  }

  equals(other: DatabaseKey): boolean {
    return crypto.timingSafeEqual(this.#bytes, other.#bytes);
  }

  /** Overwrites the bytes; the object is useless afterwards. */
  wipe(): void {
    this.#bytes.fill(0);
  }

  toString(): string {
    return '[DatabaseKey]';
  }

  toJSON(): string {
    return '[DatabaseKey]';
  }

  [inspect.custom](): string {
    return '[DatabaseKey]';
  }
}
