import crypto from 'node:crypto';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import {
  NoteError, type NoteSigner, type NoteVerifier, parseSignedNote, signNote, verifyNoteSignature,
} from '../crypto/signed-note';
import { entryTimeMatches, readContainer } from './bundle-container';

/**
 * The sealed dispute bundle (docs/security-model.md, "Proof of delivery"): a ZIP holding the
 * proof files of one stop, their metadata, the stop's audit entries and `manifest.txt`, a signed
 * note (C2SP signed-note, the format of the audit checkpoints) whose text lists the SHA-256 and
 * size of every other file in the ZIP. Whoever holds the server's verifier key checks a bundle
 * offline: the signature covers the manifest, the manifest covers every byte of every file, and
 * a file the manifest does not name makes the bundle invalid, as does anything else in the ZIP
 * container the server does not write (proofs/bundle-container.ts). Verification reads the
 * manifest first and inflates no entry beyond the size the manifest gives it.
 *
 * Manifest text, one item per line:
 *   depotline-proof-bundle/v1
 *   stop <stop id>
 *   location <location id>
 *   created <ISO 8601 time>
 *   file <sha256 hex> <size> <path>     (one per file, sorted by path)
 */

export const bundleFormat = 'depotline-proof-bundle/v1';
export const manifestName = 'manifest.txt';
const maxEntries = 2_000;
/** A bundle is read whole into memory: refuse a ZIP that would inflate past this. */
const maxInflatedBytes = 1024 * 1024 * 1024;
/** No bundle the server makes is larger (its files are capped at 256 MiB); verification refuses a bigger file unread. */
export const maxBundleBytes = 512 * 1024 * 1024;
const maxManifestBytes = 4 * 1024 * 1024;

export interface BundleFile {
  /** Path inside the ZIP: letters, digits and `._-/` only, no `..`, no leading `/`. */
  path: string;
  bytes: Uint8Array;
}

export interface BundleHeader {
  stopId: string;
  locationId: string;
  createdAt: number;
}

export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
}

const safePath = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._/-]{1,200}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

export function manifestText(header: BundleHeader, files: readonly BundleFile[]): string {
  const entries = files.map((f) => ({ path: f.path, sha256: sha256Hex(f.bytes), size: f.bytes.byteLength }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return [
    bundleFormat,
    `stop ${header.stopId}`,
    `location ${header.locationId}`,
    `created ${new Date(header.createdAt).toISOString()}`,
    ...entries.map((e) => `file ${e.sha256} ${e.size} ${e.path}`),
  ].join('\n') + '\n';
}

/** The ZIP: every file, then the manifest signed with `signer`. Stored with fixed times, so equal input gives equal bytes. */
export function packBundle(header: BundleHeader, files: readonly BundleFile[], signer: NoteSigner): Uint8Array {
  const seen = new Set<string>();
  for (const f of files) {
    if (!safePath.test(f.path) || f.path === manifestName) throw new Error(`bundle path not allowed: ${f.path}`);
    if (seen.has(f.path)) throw new Error(`bundle path twice: ${f.path}`);
    seen.add(f.path);
  }
  const note = signNote(manifestText(header, files), signer);
  const mtime = new Date(header.createdAt);
  const tree: Record<string, [Uint8Array, { mtime: Date; level: 0 | 6 }]> = {};
  tree[manifestName] = [strToU8(note), { mtime, level: 6 }];
  // Images are compressed already: stored as they are; text is deflated.
  for (const f of files) tree[f.path] = [f.bytes, { mtime, level: /\.(json|jsonl|txt)$/.test(f.path) ? 6 : 0 }];
  return zipSync(tree);
}

export type BundleVerdict =
  | { valid: true; header: BundleHeader; files: ManifestEntry[]; keyName: string; keyId: string }
  | { valid: false; problems: string[]; header: BundleHeader | null };

function parseManifest(text: string): { header: BundleHeader; files: ManifestEntry[] } {
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== bundleFormat) throw new NoteError(`the manifest is not a ${bundleFormat} manifest`);
  const field = (i: number, name: string) => {
    const m = new RegExp(`^${name} (\\S+)$`).exec(lines[i] ?? '');
    if (!m) throw new NoteError(`manifest line ${i + 1}: expected "${name} <value>"`);
    return m[1]!;
  };
  const createdAt = Date.parse(field(3, 'created'));
  if (Number.isNaN(createdAt)) throw new NoteError('manifest line 4: the creation time is not a time');
  const files = lines.slice(4).map((line, i): ManifestEntry => {
    const m = /^file ([0-9a-f]{64}) (\d{1,15}) (\S+)$/.exec(line);
    if (!m || !safePath.test(m[3]!)) throw new NoteError(`manifest line ${i + 5}: expected "file <sha256> <size> <path>"`);
    return { sha256: m[1]!, size: Number(m[2]), path: m[3]! };
  });
  return { header: { stopId: field(1, 'stop'), locationId: field(2, 'location'), createdAt }, files };
}

/**
 * Inflates the entries `wanted` says yes to, refusing before any allocation a name twice, more
 * entries than a bundle holds, or a declared size beyond `wanted`'s bound for it.
 */
function unzipBundle(zip: Uint8Array, wanted: (name: string) => number | null): Record<string, Uint8Array> {
  const names = new Set<string>();
  let inflated = 0;
  return unzipSync(zip, {
    filter: (file) => {
      // Two entries of one name: ZIP tools disagree on which one they show, so the check could
      // pass on one while a person reads the other.
      if (names.has(file.name)) throw new Error(`it holds ${file.name} twice`);
      names.add(file.name);
      const bound = wanted(file.name);
      if (bound === null) return false;
      if (file.originalSize > bound) throw new Error(`${file.name} declares ${file.originalSize} bytes, more than ${bound}`);
      inflated += file.originalSize;
      if (names.size > maxEntries || inflated > maxInflatedBytes) throw new Error('the ZIP holds more than a bundle can');
      return true;
    },
  });
}

/**
 * Checks a bundle offline against the verifier keys given (the server's, and earlier ones after a
 * rotation). Every problem found is listed; any problem makes the bundle invalid.
 */
export function verifyBundle(zip: Uint8Array, verifiers: readonly NoteVerifier[]): BundleVerdict {
  if (zip.byteLength > maxBundleBytes) return { valid: false, header: null, problems: [`the file is ${zip.byteLength} bytes: larger than any bundle the server makes`] };
  const container = readContainer(zip, maxEntries);
  if (!container.entries.some((e) => e.name === manifestName)) {
    return { valid: false, header: null, problems: [...container.problems, `no ${manifestName} in the ZIP`] };
  }
  let note: Uint8Array | undefined;
  try {
    note = unzipBundle(zip, (name) => (name === manifestName ? maxManifestBytes : null))[manifestName];
  } catch (err) {
    return { valid: false, header: null, problems: [...container.problems, `not a readable ZIP: ${err instanceof Error ? err.message : String(err)}`] };
  }
  if (!note) return { valid: false, header: null, problems: [...container.problems, `no ${manifestName} in the ZIP`] };
  let parsed: ReturnType<typeof parseSignedNote>;
  let manifest: ReturnType<typeof parseManifest>;
  try {
    parsed = parseSignedNote(strFromU8(note));
    manifest = parseManifest(parsed.text);
  } catch (err) {
    return { valid: false, header: null, problems: [`${manifestName}: ${err instanceof Error ? err.message : String(err)}`] };
  }
  const problems: string[] = [...container.problems];
  if (!entryTimeMatches(zip, manifest.header.createdAt)) problems.push('the ZIP entries\u2019 time is not the bundle\u2019s creation time (changed)');
  const sizes = new Map(manifest.files.map((f) => [f.path, f.size]));
  let contents: Record<string, Uint8Array>;
  try {
    contents = unzipBundle(zip, (name) => sizes.get(name) ?? null);
  } catch (err) {
    return { valid: false, header: manifest.header, problems: [...problems, `not a readable ZIP: ${err instanceof Error ? err.message : String(err)}`] };
  }
  let signedBy: NoteVerifier | undefined;
  for (const signature of parsed.signatures) {
    signedBy ??= verifiers.find((v) => verifyNoteSignature(parsed.text, signature, v));
  }
  if (!signedBy) {
    const names = parsed.signatures.map((s) => `${s.name} (key id ${s.keyId})`).join(', ');
    problems.push(`the manifest's signature does not verify with the key given (signed as ${names}): the manifest was changed or another key signed it`);
  }
  const listed = new Set<string>();
  for (const entry of manifest.files) {
    listed.add(entry.path);
    const bytes = contents[entry.path];
    if (!bytes) problems.push(`${entry.path}: named in the manifest, missing from the ZIP`);
    else if (bytes.byteLength !== entry.size || sha256Hex(bytes) !== entry.sha256) problems.push(`${entry.path}: its content differs from the manifest (changed)`);
  }
  for (const { name } of container.entries) {
    if (name !== manifestName && !listed.has(name)) problems.push(`${name}: in the ZIP but not in the manifest (added)`);
  }
  if (problems.length > 0 || !signedBy) return { valid: false, header: manifest.header, problems };
  return { valid: true, header: manifest.header, files: manifest.files, keyName: signedBy.name, keyId: signedBy.keyId };
}
