import crypto from 'node:crypto';
import fs from 'node:fs';
import type { DatabaseKey } from '../vault/database-key';

/**
 * Test support: reads an SQLCipher 4 file the way an attacker who also stole the key would,
 * page by page, including free pages and WAL frames that SQL can no longer reach. Lets tests
 * prove that `secure_delete` really zeroed purged rows, not just that the file is encrypted.
 *
 * Page layout with SQLCipher 4 defaults and a raw key: 4096-byte pages, the last 80 bytes
 * reserved for a 16-byte IV and a 64-byte HMAC-SHA512; AES-256-CBC over the rest, with the
 * raw key as the AES key. Page 1 starts with the 16-byte file salt, which is not encrypted.
 * https://www.zetetic.net/sqlcipher/design/
 */
const pageSize = 4096;
const reserve = 80;
const walHeader = 32;
const walFrameHeader = 24;

export function decryptPage(page: Buffer, key: Buffer, isFirstPage: boolean): Buffer {
  const start = isFirstPage ? 16 : 0;
  const end = pageSize - reserve;
  const iv = page.subarray(end, end + 16);
  const decipher = crypto.createDecipheriv('aes-256-cbc', key, iv);
  decipher.setAutoPadding(false);
  return Buffer.concat([decipher.update(page.subarray(start, end)), decipher.final()]);
}

/** Every page of the database file, decrypted (page 1 without its salt). */
export function decryptDatabaseFile(file: string, key: DatabaseKey): Buffer[] {
  const bytes = fs.readFileSync(file);
  const raw = key.copyBytes();
  const pages: Buffer[] = [];
  for (let offset = 0; offset + pageSize <= bytes.length; offset += pageSize) {
    pages.push(decryptPage(bytes.subarray(offset, offset + pageSize), raw, offset === 0));
  }
  return pages;
}

/** Every frame of a WAL file, decrypted; an absent or empty WAL gives none. */
export function decryptWalFile(file: string, key: DatabaseKey): Buffer[] {
  if (!fs.existsSync(file)) return [];
  const bytes = fs.readFileSync(file);
  const raw = key.copyBytes();
  const frames: Buffer[] = [];
  for (let offset = walHeader; offset + walFrameHeader + pageSize <= bytes.length; offset += walFrameHeader + pageSize) {
    const pageNo = bytes.readUInt32BE(offset);
    frames.push(decryptPage(bytes.subarray(offset + walFrameHeader, offset + walFrameHeader + pageSize), raw, pageNo === 1));
  }
  return frames;
}

/** Which of `needles` occur in any of the buffers (UTF-8). */
export function findNeedles(buffers: readonly Buffer[], needles: readonly string[]): string[] {
  return needles.filter((n) => {
    const b = Buffer.from(n, 'utf8');
    return buffers.some((buf) => buf.includes(b));
  });
}
