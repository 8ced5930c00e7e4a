import crypto from 'node:crypto';
import fs from 'node:fs';
import { createKeyFileOnce, KeyError } from './key-material';
import { generateSignerKey, NoteError, type NoteSigner, type NoteVerifier, parseSignerKey, parseVerifierKey } from './signed-note';

/**
 * The audit checkpoint signing key (docs/operations.md, "Audit checkpoints"): an Ed25519 signer
 * key in the signed-note encoding (`PRIVATE+KEY+<name>+<key id>+<key>`), in a file outside the
 * database. Its name is the origin line of every checkpoint it signs. Without a configured
 * file, one is generated once into `fallbackFile` (mode 0600), like the field key; production
 * installs provision it from their secret store, so the database host alone cannot sign.
 */
export function loadCheckpointSigner(file: string | undefined, fallbackFile: string): NoteSigner {
  const target = file ?? fallbackFile;
  // A random name: two installs never share an origin, and nothing about the host leaks.
  if (!file) createKeyFileOnce(target, () => generateSignerKey(`depotline-audit/${crypto.randomBytes(6).toString('hex')}`) + '\n');
  let text: string;
  try {
    text = fs.readFileSync(target, 'utf8');
  } catch (err) {
    throw new KeyError(`Cannot read the checkpoint key file ${target}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return parseSignerKey(text);
  } catch (err) {
    if (err instanceof NoteError) throw new KeyError(`Checkpoint key file ${target}: ${err.message}`);
    throw err;
  }
}

/** Verifier keys given in configuration (earlier checkpoint keys, after a rotation). */
export function parseTrustedVerifiers(keys: readonly string[]): NoteVerifier[] {
  return keys.map((key, i) => {
    try {
      return parseVerifierKey(key);
    } catch (err) {
      if (err instanceof NoteError) throw new KeyError(`Trusted checkpoint key ${i + 1}: ${err.message}`);
      throw err;
    }
  });
}
