import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCheckpointSigner } from './checkpoint-key';
import { createKeyFileOnce, loadKey } from './key-material';

const here = path.dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-keys-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** One real Node process that loads (generating if need be) the field key and the checkpoint key, and prints both. */
function loadInProcess(dataDir: string): Promise<string> {
  const script = `
    const { loadKey } = await import(${JSON.stringify(path.join(here, 'key-material.ts'))});
    const { loadCheckpointSigner } = await import(${JSON.stringify(path.join(here, 'checkpoint-key.ts'))});
    const key = loadKey({}, ${JSON.stringify(path.join(dataDir, 'keys', 'field.key'))});
    const signer = loadCheckpointSigner(undefined, ${JSON.stringify(path.join(dataDir, 'keys', 'checkpoint.key'))});
    process.stdout.write(key.toString('hex') + ' ' + signer.name);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: here });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

describe('generated key files', () => {
  it('several server processes starting together on an empty data directory all end up with the same keys', async () => {
    const dataDir = tempDir();
    const answers = await Promise.all(Array.from({ length: 4 }, () => loadInProcess(dataDir)));
    expect(new Set(answers).size).toBe(1);
    expect(fs.readdirSync(path.join(dataDir, 'keys')).sort()).toEqual(['checkpoint.key', 'field.key']); // no temp files left behind
    expect(fs.statSync(path.join(dataDir, 'keys', 'field.key')).mode & 0o777).toBe(0o600);
  });

  it('a key file already there is kept, never overwritten', () => {
    const file = path.join(tempDir(), 'keys', 'field.key');
    const first = loadKey({}, file);
    createKeyFileOnce(file, () => 'something else\n');
    expect(loadKey({}, file).equals(first)).toBe(true);
    const signerFile = path.join(path.dirname(file), 'checkpoint.key');
    expect(loadCheckpointSigner(undefined, signerFile).name).toBe(loadCheckpointSigner(undefined, signerFile).name);
  });
});
