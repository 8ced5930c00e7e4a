import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NoteError, type NoteVerifier, parseSignedNote, verifyNoteSignature } from '../crypto/signed-note';

/**
 * Signed checkpoints of the audit log (docs/security-model.md, "Audit log"). A checkpoint is
 * the chain's size (the head's seq) and its head hash, in the transparency-dev checkpoint
 * format (https://c2sp.org/tlog-checkpoint): three lines, origin, size, base64 hash, signed as
 * a note (https://c2sp.org/signed-note) with an Ed25519 key kept outside the database. The hash
 * is the head of our hash chain, not an RFC 6962 Merkle root: tools that check signatures read
 * these files; tools that ask a log for inclusion proofs do not apply.
 *
 * Each checkpoint is one file in a directory the operator chooses, written once: created under
 * a temporary name, synced, then hard-linked to its final name, which fails rather than
 * replacing an existing file. A later rewrite of the table and its head (by someone with
 * database access but not the key) matches no signed checkpoint, and `audit verify` says so.
 */

export interface Checkpoint {
  origin: string;
  size: number;
  /** The head hash at `size`, hex (as the audit log stores it). */
  rootHash: string;
}

/** The note text: origin, size, base64 hash, each line ending in a newline. */
export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${Buffer.from(c.rootHash, 'hex').toString('base64')}\n`;
}

/** Parses a checkpoint's note text; lines after the third (extensions) are allowed and ignored. */
export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4) throw new NoteError('a checkpoint has an origin, a size and a hash line');
  const [origin, size, hash] = lines as [string, string, string];
  if (origin.length === 0) throw new NoteError('the checkpoint origin is empty');
  if (!/^(0|[1-9]\d{0,15})$/.test(size)) throw new NoteError(`the checkpoint size "${size.slice(0, 20)}" is not a decimal number`);
  const raw = Buffer.from(hash, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== hash) throw new NoteError('the checkpoint hash is not a base64 SHA-256 hash');
  return { origin, size: Number(size), rootHash: raw.toString('hex') };
}

/** `000000000042-c74f20a3.checkpoint`: sorted by size, one file per size and key. */
export function checkpointFileName(size: number, keyId: string): string {
  return `${String(size).padStart(12, '0')}-${keyId}.checkpoint`;
}

export const checkpointFilePattern = /^\d{12,}-[0-9a-f]{8}\.checkpoint$/;

export type WriteOutcome = 'written' | 'exists' | 'conflict';

/**
 * Writes `content` to `dir/name` once, atomically: readers see the whole file or none, and an
 * existing file is never replaced (`conflict` when it holds something else).
 */
export function writeOnce(dir: string, name: string, content: string): WriteOutcome {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const final = path.join(dir, name);
  const temp = path.join(dir, `.${name}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(temp, 'wx', 0o444);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(temp, final);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return fs.readFileSync(final, 'utf8') === content ? 'exists' : 'conflict';
  } finally {
    fs.rmSync(temp, { force: true });
  }
  // The new directory entry survives a crash only once the directory itself is synced.
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
  return 'written';
}


/** The key id a checkpoint file's name claims (`<size>-<key id>.checkpoint`). */
export function checkpointFileKeyId(name: string): string {
  return name.slice(name.lastIndexOf('-') + 1, -'.checkpoint'.length);
}

/** The checkpoint file names in `dir`, sorted by size (none when the directory does not exist yet). */
export function listCheckpointFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.filter((n) => checkpointFilePattern.test(n)).sort();
}

/** What is wrong with a checkpoint file itself, before any comparison with the log. */
export type CheckpointFileProblem = 'unknown_key' | 'bad_signature' | 'wrong_origin' | 'malformed';

export type ReadResult = { checkpoint: Checkpoint } | { problem: CheckpointFileProblem; size: number | null; detail: string };

/** Reads one file and checks its signature and origin; nothing about the log yet. */
export function readCheckpoint(file: string, verifiers: readonly NoteVerifier[]): ReadResult {
  const sizeFromName = Number(path.basename(file).split('-')[0]);
  let message: string;
  try {
    message = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { problem: 'malformed', size: sizeFromName, detail: `Cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'}).` };
  }
  try {
    const note = parseSignedNote(message);
    const ours = note.signatures.filter((s) => verifiers.some((v) => v.name === s.name && v.keyId === s.keyId));
    if (ours.length === 0) {
      const names = note.signatures.map((s) => `${s.name} (key id ${s.keyId})`).join(', ');
      return { problem: 'unknown_key', size: sizeFromName, detail: `Signed by ${names}, which is not a trusted checkpoint key.` };
    }
    const verified = ours.find((s) => verifiers.some((v) => verifyNoteSignature(note.text, s, v)));
    if (!verified) {
      return { problem: 'bad_signature', size: sizeFromName, detail: `The signature of ${ours[0]!.name} (key id ${ours[0]!.keyId}) does not verify: the file was altered.` };
    }
    const checkpoint = parseCheckpointText(note.text);
    if (checkpoint.origin !== verified.name) {
      return { problem: 'wrong_origin', size: checkpoint.size, detail: `A checkpoint of "${checkpoint.origin}", not of this log (${verified.name}).` };
    }
    if (checkpoint.size !== sizeFromName) {
      return { problem: 'malformed', size: checkpoint.size, detail: `The file name says size ${sizeFromName} but the signed checkpoint is for size ${checkpoint.size}.` };
    }
    return { checkpoint };
  } catch (err) {
    if (err instanceof NoteError) return { problem: 'malformed', size: sizeFromName, detail: `Not a signed checkpoint: ${err.message}.` };
    throw err;
  }
}
