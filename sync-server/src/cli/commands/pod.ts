import fs from 'node:fs';
import path from 'node:path';
import { EntityId } from '@depotline/shared';
import { appendAudit } from '../../audit/audit-log';
import { loadConfig } from '../../config';
import { loadCheckpointSigner, parseTrustedVerifiers } from '../../crypto/checkpoint-key';
import { NoteError, type NoteVerifier, parseVerifierKey } from '../../crypto/signed-note';
import { badRequest, notFound } from '../../errors';
import { buildProofBundle } from '../../proofs/bundle';
import { maxBundleBytes, verifyBundle } from '../../proofs/bundle-format';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, type CliIo, exitCodes, optionalString, requiredString } from '../command';

/** `pod bundle`, `pod verify-bundle` (docs/operations.md, "Proof of delivery bundles"). */

/**
 * The keys a bundle may be signed with: the one given (a verifier key, or a file holding one),
 * else this install's checkpoint key and its trusted earlier keys, read from the key file
 * without opening the database and without creating a key where there is none.
 */
function verifiersFor(publicKey: string | undefined, io: CliIo): NoteVerifier[] {
  if (publicKey !== undefined) {
    const text = fs.existsSync(publicKey) && fs.statSync(publicKey).isFile() ? fs.readFileSync(publicKey, 'utf8') : publicKey;
    try {
      return [parseVerifierKey(text.trim())];
    } catch (err) {
      if (err instanceof NoteError) throw badRequest([`--public-key: ${err.message} (expected the output of depotline-admin audit checkpoint-key)`]);
      throw err;
    }
  }
  const config = loadConfig(io.env);
  const fallback = path.join(config.dataDir, 'keys', 'checkpoint.key');
  if (!config.checkpoints.keyFile && !fs.existsSync(fallback)) {
    throw badRequest([`no checkpoint key on this host (${fallback}): give the server's verifier key with --public-key`]);
  }
  const signer = loadCheckpointSigner(config.checkpoints.keyFile, fallback);
  return [signer, ...parseTrustedVerifiers(config.checkpoints.trustedKeys)];
}

const podVerifyBundle: CliCommand = {
  group: 'pod',
  name: 'verify-bundle',
  summary: 'Check a proof-of-delivery dispute bundle offline: signature, every file hash, nothing added',
  options: {
    bundle: { type: 'string', value: '<zip>', description: 'The bundle (also as the bare argument)', required: true, positional: true },
    'public-key': {
      type: 'string', value: '<verifier key|file>',
      description: 'The server\'s verifier key (depotline-admin audit checkpoint-key), or a file holding it. Default: this host\'s checkpoint key and DEPOTLINE_CHECKPOINT_TRUSTED_KEYS',
    },
  },
  notes: [
    'Needs no database and no network: an auditor runs it with --public-key on any machine.',
    'Exit status: 0 the bundle is intact and signed by the key; 3 it is not (every problem is listed); 1 unreadable file or bad key.',
  ],
  prepare(values, io) {
    const file = path.resolve(requiredString(values, 'bundle'));
    const verifiers = verifiersFor(optionalString(values, 'public-key'), io);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch (err) {
      throw badRequest([`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
    if (size > maxBundleBytes) throw badRequest([`${file} is ${size} bytes: larger than any bundle the server makes`]);
    const verdict = verifyBundle(new Uint8Array(fs.readFileSync(file)), verifiers);
    if (!verdict.valid) {
      const about = verdict.header ? ` (stop ${verdict.header.stopId})` : '';
      return {
        done: {
          json: { file, ...verdict },
          text: [`BUNDLE INVALID${about}: ${file}`, ...verdict.problems.map((p) => `  ${p}`)].join('\n'),
          exitCode: exitCodes.auditBroken,
        },
      };
    }
    const { header } = verdict;
    return {
      done: {
        json: { file, ...verdict },
        text: [
          `Bundle intact: ${file}`,
          `  stop ${header.stopId} at location ${header.locationId}, made ${new Date(header.createdAt).toISOString()}`,
          `  signed by ${verdict.keyName} (key id ${verdict.keyId}); ${verdict.files.length} files match the manifest:`,
          ...verdict.files.map((f) => `    ${f.sha256}  ${String(f.size).padStart(9)}  ${f.path}`),
        ].join('\n'),
      },
    };
  },
};

const podBundle: CliCommand = {
  group: 'pod',
  name: 'bundle',
  summary: 'Write the sealed dispute bundle of a stop (proof files, manifest signed with the checkpoint key)',
  options: {
    stop: { type: 'string', value: '<stop id>', description: 'The stop', required: true },
    out: { type: 'string', value: '<file>', description: 'Write to this new file (mode 0600); an existing file is never overwritten', required: true },
  },
  notes: ['The bundle holds the proof files in clear: keep it accordingly. The export is audited as pod.export by cli:<your OS user>.'],
  prepare(values) {
    const stopId = EntityId.safeParse(requiredString(values, 'stop'));
    if (!stopId.success) throw badRequest(['--stop: not a stop id']);
    const out = path.resolve(requiredString(values, 'out'));
    if (fs.existsSync(out)) throw badRequest([`--out: ${out} already exists; choose a new file name`]);
    return async (ctx) => {
      const stop = await ctx.db.selectFrom('stops').select(['id', 'location_id']).where('id', '=', stopId.data).executeTakeFirst();
      if (!stop) throw notFound('The stop');
      const now = ctx.now();
      // The host's operator is trusted with every original (they hold the database and the proof key).
      const built = await buildProofBundle(ctx, ctx.db, { id: stop.id, locationId: stop.location_id }, now, { originals: true });
      let fd: number;
      try {
        fd = fs.openSync(out, 'wx', 0o600);
      } catch (err) {
        throw badRequest([`--out: cannot create ${out} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
      }
      try {
        // Audited before the bytes are written: no bundle leaves without its entry.
        await ctx.db.transaction().execute((trx) => appendAudit(trx, operatorActor(), {
          action: 'pod.export', outcome: 'ok', targetType: 'stop', targetId: stop.id, locationId: stop.location_id,
          details: { proofs: built.proofCount, files: built.fileCount, bytes: built.zip.byteLength, sha256: built.sha256 },
        }, now));
        fs.writeFileSync(fd, built.zip);
      } finally {
        fs.closeSync(fd);
      }
      return {
        json: { file: out, stopId: stop.id, locationId: stop.location_id, proofs: built.proofCount, files: built.fileCount, sha256: built.sha256 },
        text: `Wrote the bundle of stop ${stop.id} (${built.proofCount} proofs, ${built.fileCount} files) to ${out}\nSHA-256 ${built.sha256}\nCheck it with: depotline-admin pod verify-bundle ${out}`,
      };
    };
  },
};

export const podCommands: readonly CliCommand[] = [podBundle, podVerifyBundle];
