import crypto from 'node:crypto';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { generateSignerKey, parseSignerKey } from '../crypto/signed-note';
import { type BundleFile, manifestName, packBundle, verifyBundle } from './bundle-format';

const signer = parseSignerKey(generateSignerKey('depotline-audit/test'));
const stranger = parseSignerKey(generateSignerKey('depotline-audit/test'));
const photo = crypto.randomBytes(4096);
const files: BundleFile[] = [
  { path: 'files/p1.jpg', bytes: photo },
  { path: 'proofs.json', bytes: strToU8('[{"id":"p1","kind":"photo"}]') },
  { path: 'audit.jsonl', bytes: strToU8('{"seq":1,"action":"pod.capture"}\n') },
];
const header = { stopId: 'stop-1', locationId: 'depot-north', createdAt: Date.UTC(2026, 10, 30, 12) };
const bundle = packBundle(header, files, signer);

function flipByteOf(zip: Uint8Array, content: Uint8Array): Uint8Array {
  const at = Buffer.from(zip).indexOf(Buffer.from(content.subarray(0, 64)));
  expect(at).toBeGreaterThan(0);
  const copy = new Uint8Array(zip);
  copy[at + 10] = copy[at + 10]! ^ 0x01;
  return copy;
}

describe('sealed dispute bundle format', () => {
  it('verifies with the signing key, listing every file with its SHA-256', () => {
    const verdict = verifyBundle(bundle, [signer]);
    expect(verdict).toMatchObject({ valid: true, header, keyName: signer.name, keyId: signer.keyId });
    if (!verdict.valid) throw new Error('unreachable');
    expect(verdict.files.map((f) => f.path)).toEqual(['audit.jsonl', 'files/p1.jpg', 'proofs.json']);
    expect(verdict.files.find((f) => f.path === 'files/p1.jpg')?.sha256).toBe(crypto.createHash('sha256').update(photo).digest('hex'));
    // Same input, same bytes: a bundle can be rebuilt and compared.
    expect(Buffer.from(packBundle(header, files, signer)).equals(Buffer.from(bundle))).toBe(true);
  });

  it('fails when one byte of a photo changed inside the ZIP', () => {
    const verdict = verifyBundle(flipByteOf(bundle, photo), [signer]);
    expect(verdict.valid).toBe(false);
    if (verdict.valid) throw new Error('unreachable');
    expect(verdict.problems.join('\n')).toMatch(/files\/p1\.jpg: its content differs/);
  });

  it('fails when the manifest was edited to match a changed file, or a file was added or removed', () => {
    const contents = unzipSync(bundle);
    const forged = new Uint8Array(photo);
    forged[0] = forged[0]! ^ 0xff;
    const oldHash = crypto.createHash('sha256').update(photo).digest('hex');
    const newHash = crypto.createHash('sha256').update(forged).digest('hex');
    const manifest = Buffer.from(contents[manifestName]!).toString('utf8').replace(oldHash, newHash);
    const rewritten = zipSync({ ...contents, 'files/p1.jpg': forged, [manifestName]: strToU8(manifest) });
    const verdict = verifyBundle(rewritten, [signer]);
    expect(verdict.valid).toBe(false);
    if (verdict.valid) throw new Error('unreachable');
    expect(verdict.problems.join('\n')).toMatch(/signature does not verify/);

    const added = verifyBundle(zipSync({ ...contents, 'files/extra.jpg': strToU8('x') }), [signer]);
    expect(added.valid || added.problems.join('\n')).toMatch(/extra\.jpg: in the ZIP but not in the manifest/);
    const { 'proofs.json': _dropped, ...rest } = contents;
    const removed = verifyBundle(zipSync(rest), [signer]);
    expect(removed.valid || removed.problems.join('\n')).toMatch(/proofs\.json: named in the manifest, missing/);
  });

  it('fails when the ZIP holds a name twice (a forged copy beside the genuine one)', () => {
    const forged = crypto.randomBytes(4096);
    // Same length: the central directory entry of the forgery is renamed in place to the genuine name.
    const zip = Buffer.from(zipSync({ ...unzipSync(bundle), 'files/p2.jpg': forged }, { level: 0 }));
    let at = zip.indexOf('files/p2.jpg');
    while (at >= 0) {
      zip.write('files/p1.jpg', at, 'latin1');
      at = zip.indexOf('files/p2.jpg', at + 1);
    }
    const verdict = verifyBundle(new Uint8Array(zip), [signer]);
    expect(verdict.valid).toBe(false);
    expect(verdict.valid || verdict.problems.join('\n')).toMatch(/files\/p1\.jpg twice/);
  });

  it('fails with another key of the same name, and on bytes that are not a ZIP', () => {
    const verdict = verifyBundle(bundle, [stranger]);
    expect(verdict.valid).toBe(false);
    expect(verifyBundle(strToU8('PK not a zip at all'), [signer])).toMatchObject({ valid: false, header: null });
  });

  it('refuses to pack a path that climbs out of the bundle or names the manifest', () => {
    expect(() => packBundle(header, [{ path: '../etc/passwd', bytes: photo }], signer)).toThrow(/not allowed/);
    expect(() => packBundle(header, [{ path: manifestName, bytes: photo }], signer)).toThrow(/not allowed/);
  });
});
