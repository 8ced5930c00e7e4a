import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class KeyError extends Error {
  override name = 'KeyError';
}

/**
 * Loads a 32-byte key given inline (base64) or as a file (32 raw bytes, or base64 text).
 * With neither, a key is generated once into `fallbackFile` (mode 0600) so a fresh install
 * runs with zero setup; production installs point at a file from their secret store.
 */
export function loadKey(source: { file?: string; value?: string }, fallbackFile: string): Buffer {
  if (source.value) return decodeKey(source.value, 'the inline key');
  const file = source.file ?? fallbackFile;
  if (!source.file) createKeyFileOnce(file, () => crypto.randomBytes(32).toString('base64') + '\n');
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (err) {
    throw new KeyError(`Cannot read key file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (raw.length === 32) return raw;
  return decodeKey(raw.toString('utf8').trim(), `key file ${file}`);
}

/**
 * Writes a generated key file unless one is there, safely when several server processes start
 * together on an empty data directory: the key is written whole to a private temp file, then
 * linked into place, which fails if another process got there first (then its key is the one
 * every process reads). A reader never sees a half-written key file.
 */
export function createKeyFileOnce(file: string, generate: () => string): void {
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temp, generate(), { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

function decodeKey(text: string, what: string): Buffer {
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32) throw new KeyError(`${what} must be 32 bytes (base64-encoded, 44 characters).`);
  return key;
}

/**
 * The field keys, newest first (crypto/field-cipher.ts): the current key, which encrypts every
 * value written from now on, then the previous keys, which only decrypt values not yet
 * re-encrypted by `depotline-admin keys rotate-field-key` (docs/operations.md, "Rotating the field key").
 */
export function loadFieldKeys(source: { file?: string; value?: string; previousFiles: readonly string[] }, fallbackFile: string): Buffer[] {
  const current = loadKey(source, fallbackFile);
  const keys = [current];
  for (const file of source.previousFiles) {
    const key = loadKey({ file }, fallbackFile);
    if (keys.some((k) => k.equals(key))) throw new KeyError(`Field key file ${file} holds a key that is already configured (the current key, or another previous one).`);
    keys.push(key);
  }
  return keys;
}
