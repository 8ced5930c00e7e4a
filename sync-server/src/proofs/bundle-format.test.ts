import crypto from 'node:crypto';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { generateSignerKey, parseSignerKey } from '../crypto/signed-note';
import { type BundleFile, manifestName, maxBundleBytes, packBundle, verifyBundle } from './bundle-format';

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

  const problemsOf = (zip: Uint8Array) => {
    const verdict = verifyBundle(zip, [signer]);
    expect(verdict.valid).toBe(false);
    return verdict.valid ? '' : verdict.problems.join('\n');
  };

  it('fails when the container differs from what the server writes: a comment, trailing bytes, a directory entry with data, changed times', () => {
    // A ZIP comment ("APPROVED BY CUSTOMER") in the end record.
    const zip = Buffer.from(bundle);
    const comment = Buffer.from('APPROVED BY CUSTOMER - signature on file');
    const withComment = Buffer.concat([zip, comment]);
    withComment.writeUInt16LE(comment.length, zip.length - 22 + 20);
    expect(problemsOf(new Uint8Array(withComment))).toMatch(/comment or bytes after it/);
    expect(problemsOf(new Uint8Array(Buffer.concat([zip, Buffer.from('hidden')])))).toMatch(/comment or bytes after it/);
    expect(problemsOf(new Uint8Array(Buffer.concat([Buffer.from('prefix'), zip])))).toMatch(/has bytes between/);
    // An entry named like a directory, carrying "replacement evidence", at the bundle's own time.
    const mtime = new Date(header.createdAt);
    const tree = Object.fromEntries(Object.entries(unzipSync(bundle)).map(([name, bytes]) => [name, [bytes, { mtime }] as const]));
    const withDirectory = zipSync({ ...tree, 'files/p1.jpg/': [strToU8('<html>replacement evidence</html>'), { mtime }] });
    expect(problemsOf(withDirectory)).toMatch(/files\/p1\.jpg\/: a directory entry/);
    expect(problemsOf(zipSync({ ...tree, 'files/': [new Uint8Array(0), { mtime }] }))).toMatch(/files\/: a directory entry/);
    // The entries' times rewritten (in the entry headers only, then everywhere).
    const retimed = Buffer.from(bundle);
    for (let i = 0; i < retimed.length - 4; i++) if (retimed.readUInt32LE(i) === 0x04034b50) retimed.writeUInt32LE(0x00002121, i + 10);
    expect(problemsOf(new Uint8Array(retimed))).toMatch(/header differs/);
    for (let i = 0; i < retimed.length - 4; i++) if (retimed.readUInt32LE(i) === 0x02014b50) retimed.writeUInt32LE(0x00002121, i + 12);
    expect(problemsOf(new Uint8Array(retimed))).toMatch(/time is not the bundle\u2019s creation time/);
    // An extra field on an entry.
    const withExtra = zipSync({ ...tree, 'proofs.json': [unzipSync(bundle)['proofs.json']!, { mtime, extra: { 0x7875: new Uint8Array([1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0]) } }] });
    expect(problemsOf(withExtra)).toMatch(/proofs\.json: carries extra fields/);
    // Rebuilt by the server's own writer from the verified contents, it verifies again.
    expect(verifyBundle(zipSync(Object.fromEntries(Object.entries(tree).map(([n, [b]]) => [n, [b, { mtime, level: /\.(json|jsonl|txt)$/.test(n) ? 6 : 0 }]]))), [signer]).valid).toBe(true);
  });

  it('refuses a file larger than any bundle, and an entry declaring more bytes than the manifest gives it, before inflating it', () => {
    const huge = new Uint8Array(new ArrayBuffer(maxBundleBytes + 1));
    expect(problemsOf(huge)).toMatch(/larger than any bundle/);
    // The photo's declared size raised in both headers: refused from the declaration, nothing allocated for it.
    const inflated = Buffer.from(bundle);
    const name = Buffer.from('files/p1.jpg');
    for (let i = 0; i < inflated.length - 4; i++) {
      const sig = inflated.readUInt32LE(i);
      if (sig === 0x04034b50 && inflated.subarray(i + 30, i + 30 + name.length).equals(name)) inflated.writeUInt32LE(0x3fffffff, i + 22);
      if (sig === 0x02014b50 && inflated.subarray(i + 46, i + 46 + name.length).equals(name)) inflated.writeUInt32LE(0x3fffffff, i + 24);
    }
    expect(problemsOf(new Uint8Array(inflated))).toMatch(/files\/p1\.jpg declares 1073741823 bytes, more than 4096/);
  });
});
