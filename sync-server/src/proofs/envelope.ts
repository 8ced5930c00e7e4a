import crypto from 'node:crypto';
import type { ServerContext } from '../context';

/**
 * Envelope encryption of proof files (docs/security-model.md, "Proof of delivery"): every proof
 * gets its own random 256-bit data key; the file is sealed with it (AES-256-GCM), and the data
 * key is stored only wrapped by the server's proof key (DEPOTLINE_PROOF_KEY_FILE), itself never
 * in the database. Destroying a proof = setting its wrapped key to NULL (and deleting the file):
 * from then on the live database cannot open any copy of the sealed bytes. A database backup (or
 * WAL archive) from before the deletion still holds the wrapped key and, with the same proof key,
 * opens a file backup of that time: the proof key is not rotated yet (docs/security-model.md,
 * "Known gaps").
 *
 * Both layers bind the proof id as associated data, so a file or a wrapped key moved to another
 * proof's row does not open.
 *
 * Sealed file:  `DLP1` | iv (12) | tag (16) | ciphertext
 * Wrapped key:  `v1.<key id>.<base64(iv | tag | encrypted data key)>`, the key id being the first
 *               8 hex digits of SHA-256 of the proof key (which key wrapped it, for diagnostics).
 */

const fileMagic = Buffer.from('DLP1', 'ascii');
const ivBytes = 12;
const tagBytes = 16;

export class ProofSealError extends Error {
  override name = 'ProofSealError';
}

export interface SealedProof {
  ciphertext: Uint8Array;
  wrappedKey: string;
}

export function proofKeyId(key: Uint8Array): string {
  return crypto.createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function gcmSeal(key: Uint8Array, plain: Uint8Array, aad: string): Buffer {
  const iv = crypto.randomBytes(ivBytes);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function gcmOpen(key: Uint8Array, sealed: Uint8Array, aad: string): Buffer {
  if (sealed.length < ivBytes + tagBytes) throw new ProofSealError('sealed value too short');
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, buf.subarray(0, ivBytes));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(buf.subarray(ivBytes, ivBytes + tagBytes));
  try {
    return Buffer.concat([decipher.update(buf.subarray(ivBytes + tagBytes)), decipher.final()]);
  } catch {
    throw new ProofSealError('does not open (altered, moved from another proof, or under another key)');
  }
}

const fileAad = (proofId: string) => `depotline.proof.file.${proofId}`;
const keyAad = (proofId: string) => `depotline.proof.key.${proofId}`;

/** Seals a proof's bytes under a new data key; returns the sealed bytes and the wrapped key. */
export function sealProof(ctx: Pick<ServerContext, 'proofKey'>, bytes: Uint8Array, proofId: string): SealedProof {
  const dataKey = crypto.randomBytes(32);
  try {
    const ciphertext = Buffer.concat([fileMagic, gcmSeal(dataKey, bytes, fileAad(proofId))]);
    const wrapped = gcmSeal(ctx.proofKey, dataKey, keyAad(proofId));
    return { ciphertext: new Uint8Array(ciphertext), wrappedKey: `v1.${proofKeyId(ctx.proofKey)}.${wrapped.toString('base64')}` };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Opens sealed bytes with their wrapped key. Throws `ProofSealError` when the key was destroyed
 * (null), is under another proof key, or either part was altered or belongs to another proof.
 */
export function openProof(ctx: Pick<ServerContext, 'proofKey'>, ciphertext: Uint8Array, wrappedKey: string | null, proofId: string): Uint8Array {
  if (wrappedKey === null) throw new ProofSealError('the proof\u2019s key was destroyed');
  const match = /^v1\.([0-9a-f]{8})\.([A-Za-z0-9+/]+=*)$/.exec(wrappedKey);
  if (!match) throw new ProofSealError('not a wrapped proof key');
  if (match[1] !== proofKeyId(ctx.proofKey)) throw new ProofSealError(`wrapped under another proof key (${match[1]})`);
  const dataKey = gcmOpen(ctx.proofKey, Buffer.from(match[2]!, 'base64'), keyAad(proofId));
  try {
    const head = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, Math.min(ciphertext.byteLength, fileMagic.length));
    if (!head.equals(fileMagic)) throw new ProofSealError('not a sealed proof file');
    return new Uint8Array(gcmOpen(dataKey, ciphertext.subarray(fileMagic.length), fileAad(proofId)));
  } finally {
    dataKey.fill(0);
  }
}
