import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { strToU8 } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSignerKey, parseSignerKey } from '../crypto/signed-note';
import { packBundle } from '../proofs/bundle-format';
import { runCli } from './run';

/** `depotline-admin pod verify-bundle`, in process: a bundle checked with no database and no server. */

const signer = parseSignerKey(generateSignerKey('depotline-audit/test'));
const photo = crypto.randomBytes(4096);
const bundle = packBundle({ stopId: 'stop-1', locationId: 'depot-north', createdAt: Date.UTC(2026, 10, 30, 12) }, [
  { path: 'files/p1.jpg', bytes: photo },
  { path: 'proofs.json', bytes: strToU8('[{"id":"p1","kind":"photo"}]') },
], signer);

function flipByteOf(zip: Uint8Array, content: Uint8Array): Uint8Array {
  const at = Buffer.from(zip).indexOf(Buffer.from(content.subarray(0, 64)));
  expect(at).toBeGreaterThan(0);
  const copy = new Uint8Array(zip);
  copy[at + 10] = copy[at + 10]! ^ 0x01;
  return copy;
}

describe('depotline-admin pod verify-bundle (offline)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-bundle-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function admin(args: string[], env: NodeJS.ProcessEnv = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const stream = (into: string[]) => new PassThrough().setEncoding('utf8').on('data', (d: string) => into.push(d));
    const code = await runCli(args, { stdout: stream(out), stderr: stream(err), stdin: Readable.from([]), env: { DEPOTLINE_DATA_DIR: dir, ...env } });
    await new Promise((r) => setImmediate(r));
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  it('accepts the intact bundle with the verifier key, exit 3 after one changed byte, and opens no database', async () => {
    const good = path.join(dir, 'good.zip');
    const bad = path.join(dir, 'bad.zip');
    fs.writeFileSync(good, bundle);
    fs.writeFileSync(bad, flipByteOf(bundle, photo));
    const ok = await admin(['pod', 'verify-bundle', good, '--public-key', signer.verifierKey]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/Bundle intact/);
    const keyFile = path.join(dir, 'verifier.pub');
    fs.writeFileSync(keyFile, signer.verifierKey + '\n');
    const failed = await admin(['pod', 'verify-bundle', '--bundle', bad, '--public-key', keyFile, '--json']);
    expect(failed.code).toBe(3);
    expect(JSON.parse(failed.stdout)).toMatchObject({ valid: false, header: { stopId: 'stop-1' } });
    // Offline means offline: no SQLite file, no generated key appeared in the data directory.
    expect(fs.readdirSync(dir).sort()).toEqual(['bad.zip', 'good.zip', 'verifier.pub']);
  });

  it('without --public-key on a host with no checkpoint key: a clear refusal, nothing created', async () => {
    const res = await admin(['pod', 'verify-bundle', path.join(dir, 'good.zip')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/--public-key/);
    expect(fs.existsSync(path.join(dir, 'keys'))).toBe(false);
  });
});
