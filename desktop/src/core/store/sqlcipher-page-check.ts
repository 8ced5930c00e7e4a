import crypto from 'node:crypto';
import fs from 'node:fs';
import type { DatabaseKey } from '../vault/database-key';

/**
 * SQLCipher 4's per-page HMAC check, done by reading the file: what `PRAGMA
 * cipher_integrity_check` does inside SQLCipher, for drivers that lack the pragma (SQLite3
 * Multiple Ciphers ignores it, as SQLite ignores any unknown pragma, so asking it would always
 * answer "no bad pages").
 *
 * SQLCipher 4 with a raw key (https://www.zetetic.net/sqlcipher/design/): page 1 starts with a
 * 16-byte salt; each 4096-byte page ends with 80 reserved bytes, a 16-byte IV then a 64-byte
 * HMAC-SHA512 over the page's ciphertext and IV followed by the page number (4 bytes,
 * little-endian). The HMAC key is PBKDF2-HMAC-SHA512 of the encryption key with the salt
 * XOR 0x3a, 2 iterations, 32 bytes.
 *
 * Reads every page of the database file itself, including free pages SQL cannot reach; frames
 * in the WAL are not pages of the file yet (the store truncates the WAL on close).
 */
const pageSize = 4096;
const reserve = 80;
const ivSize = 16;
const hmacSize = 64;
const saltSize = 16;
const hmacSaltMask = 0x3a;
const fastKdfIterations = 2;

/** The page numbers (1-based) whose HMAC does not verify under `key`. */
export function pagesFailingHmac(file: string, key: DatabaseKey): number[] {
  const bytes = fs.readFileSync(file);
  if (bytes.length < pageSize) return [1];
  const raw = key.copyBytes();
  const hmacSalt = Buffer.from(bytes.subarray(0, saltSize).map((b) => b ^ hmacSaltMask));
  const hmacKey = crypto.pbkdf2Sync(raw, hmacSalt, fastKdfIterations, raw.length, 'sha512');
  raw.fill(0);
  const failing: number[] = [];
  const pageNo = Buffer.alloc(4);
  const pages = Math.floor(bytes.length / pageSize);
  for (let i = 0; i < pages; i++) {
    const page = bytes.subarray(i * pageSize, (i + 1) * pageSize);
    const signedEnd = pageSize - reserve + ivSize;
    pageNo.writeUInt32LE(i + 1);
    const mac = crypto.createHmac('sha512', hmacKey)
      .update(page.subarray(i === 0 ? saltSize : 0, signedEnd))
      .update(pageNo)
      .digest();
    if (!crypto.timingSafeEqual(mac, page.subarray(signedEnd, signedEnd + hmacSize))) failing.push(i + 1);
  }
  hmacKey.fill(0);
  return failing;
}
