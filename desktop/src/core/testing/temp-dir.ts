import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function makeTempDir(): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-core-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The database file and whatever SQLite keeps beside it, as raw bytes. */
export function readDatabaseFiles(file: string): Buffer[] {
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f));
}
