import crypto from 'node:crypto';

/**
 * Signed notes with Ed25519 keys, as specified by C2SP (https://c2sp.org/signed-note) and
 * implemented by golang.org/x/mod/sumdb/note, the format transparency logs sign their
 * checkpoints in. A note is UTF-8 text ending in a newline, then a blank line, then one line
 * per signature: `— <key name> <base64(4-byte key id || 64-byte signature)>`. The signature
 * covers the text only, final newline included.
 *
 * Keys travel as the Go reference implementation writes them, so its tools read ours:
 * - verifier key: `<name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>`
 * - signer key:   `PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || 32-byte seed)>`
 * where the key id is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
 */

/** Signature type byte for Ed25519 in key ids and key encodings. */
const algEd25519 = 0x01;
const signerPrefix = 'PRIVATE+KEY+';
/** PKCS #8 DER of an Ed25519 private key, less the 32-byte seed (RFC 8410). */
const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
/** SubjectPublicKeyInfo DER of an Ed25519 public key, less the 32-byte key (RFC 8410). */
const spkiEd25519Prefix = Buffer.from('302a300506032b6570032100', 'hex');

export class NoteError extends Error {
  override name = 'NoteError';
}

export interface NoteVerifier {
  name: string;
  /** 8 lower-case hex digits. */
  keyId: string;
  publicKey: crypto.KeyObject;
  /** The verifier key string, as printed for operators and auditors. */
  verifierKey: string;
}

export interface NoteSigner extends NoteVerifier {
  sign(text: string): Buffer;
}

/** A key name: non-empty, no whitespace and no `+` (the spec's rule). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

export function noteKeyId(name: string, rawPublicKey: Buffer): string {
  const digest = crypto.createHash('sha256').update(name, 'utf8').update(Buffer.from([0x0a, algEd25519])).update(rawPublicKey).digest();
  return digest.subarray(0, 4).toString('hex');
}

function rawPublicKeyOf(key: crypto.KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(spkiEd25519Prefix.length);
}

function verifierFor(name: string, publicKey: crypto.KeyObject): NoteVerifier {
  const raw = rawPublicKeyOf(publicKey);
  const keyId = noteKeyId(name, raw);
  const verifierKey = `${name}+${keyId}+${Buffer.concat([Buffer.from([algEd25519]), raw]).toString('base64')}`;
  return { name, keyId, publicKey, verifierKey };
}

/** Strict standard base64 (with padding): `Buffer.from` would silently skip bad characters. */
function decodeBase64(text: string, what: string): Buffer {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) throw new NoteError(`${what} is not base64`);
  return Buffer.from(text, 'base64');
}

/** Parses `<name>+<keyid>+<base64(0x01 || key)>`; the key id must match the name and key. */
function parseKeyString(text: string, what: string): { name: string; keyId: string; material: Buffer } {
  // The base64 part may itself hold `+`: split at the first two only.
  const match = /^([^+]*)\+([^+]*)\+(.*)$/su.exec(text.trim());
  if (!match) throw new NoteError(`${what}: expected <name>+<key id>+<key>`);
  const [, name, keyId, encoded] = match as unknown as [string, string, string, string];
  if (!isValidKeyName(name)) throw new NoteError(`${what}: invalid key name "${name}"`);
  if (!/^[0-9a-f]{8}$/.test(keyId)) throw new NoteError(`${what}: the key id must be 8 lower-case hex digits`);
  const bytes = decodeBase64(encoded, what);
  if (bytes.length !== 33 || bytes[0] !== algEd25519) throw new NoteError(`${what}: not an Ed25519 key (0x01 followed by 32 bytes)`);
  return { name, keyId, material: bytes.subarray(1) };
}

export function parseVerifierKey(text: string): NoteVerifier {
  const { name, keyId, material } = parseKeyString(text, 'verifier key');
  if (noteKeyId(name, material) !== keyId) throw new NoteError(`verifier key: the key id ${keyId} does not match the key`);
  const publicKey = crypto.createPublicKey({ key: Buffer.concat([spkiEd25519Prefix, material]), format: 'der', type: 'spki' });
  return verifierFor(name, publicKey);
}

function signerFor(name: string, privateKey: crypto.KeyObject): NoteSigner {
  const verifier = verifierFor(name, crypto.createPublicKey(privateKey));
  return { ...verifier, sign: (text) => crypto.sign(null, Buffer.from(text, 'utf8'), privateKey) };
}

export function parseSignerKey(text: string): NoteSigner {
  const trimmed = text.trim();
  if (!trimmed.startsWith(signerPrefix)) throw new NoteError(`signer key: expected ${signerPrefix}<name>+<key id>+<key>`);
  const { name, keyId, material } = parseKeyString(trimmed.slice(signerPrefix.length), 'signer key');
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, material]), format: 'der', type: 'pkcs8' });
  const signer = signerFor(name, privateKey);
  if (signer.keyId !== keyId) throw new NoteError(`signer key: the key id ${keyId} does not match the key`);
  return signer;
}

/** A new random Ed25519 signer key string for `name`. */
export function generateSignerKey(name: string): string {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name "${name}": no spaces and no "+"`);
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(pkcs8Ed25519Prefix.length);
  const signer = signerFor(name, privateKey);
  return `${signerPrefix}${name}+${signer.keyId}+${Buffer.concat([Buffer.from([algEd25519]), seed]).toString('base64')}`;
}

/** The text followed by its signature line: a complete signed note. */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n')) throw new NoteError('a note text ends with a newline');
  const blob = Buffer.concat([Buffer.from(signer.keyId, 'hex'), signer.sign(text)]).toString('base64');
  return `${text}\n\u2014 ${signer.name} ${blob}\n`;
}

export interface NoteSignature {
  name: string;
  keyId: string;
  signature: Buffer;
}

export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

/** Splits a signed note into its text and signatures; verifies nothing. */
export function parseSignedNote(message: string): ParsedNote {
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('no blank line between the text and the signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (!block.endsWith('\n')) throw new NoteError('the signature lines do not end with a newline (the file is cut short)');
  const signatures = block.slice(0, -1).split('\n').map((line): NoteSignature => {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!match) throw new NoteError(`malformed signature line "${line.slice(0, 80)}"`);
    const blob = decodeBase64(match[2]!, 'a signature');
    if (blob.length < 5) throw new NoteError('a signature is too short');
    return { name: match[1]!, keyId: blob.subarray(0, 4).toString('hex'), signature: blob.subarray(4) };
  });
  if (signatures.length === 0) throw new NoteError('the note has no signature');
  return { text, signatures };
}

export function verifyNoteSignature(text: string, signature: NoteSignature, verifier: NoteVerifier): boolean {
  if (signature.name !== verifier.name || signature.keyId !== verifier.keyId || signature.signature.length !== 64) return false;
  return crypto.verify(null, Buffer.from(text, 'utf8'), verifier.publicKey, signature.signature);
}
