import fs from 'node:fs';
import path from 'node:path';
import { recordRefusal, signCheckpoint } from '../../audit/checkpoints';
import { generateSignerKey, isValidKeyName, parseSignerKey } from '../../crypto/signed-note';
import { badRequest } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, exitCodes, optionalString, requiredString } from '../command';

/** `audit checkpoint`, `audit checkpoint-key`, `audit checkpoint-keygen` (docs/operations.md, "Audit checkpoints"). */

const auditCheckpoint: CliCommand = {
  group: 'audit',
  name: 'checkpoint',
  summary: 'Sign a checkpoint of the audit head now (if it moved since the last one)',
  options: {},
  notes: [
    'The server also signs one every DEPOTLINE_CHECKPOINT_INTERVAL_S seconds when the head moved.',
    'Exit status: 0 signed or unchanged, 3 refused (the log no longer extends a signed checkpoint, or checkpoint files or their records were removed or altered); a refusal is recorded in the audit log.',
  ],
  prepare() {
    return async (ctx) => {
      const result = await signCheckpoint(ctx);
      const where = path.join(ctx.config.checkpoints.dir, result.status === 'refused' ? '' : result.file);
      const size = result.checkpoint.size;
      switch (result.status) {
        case 'signed':
          return { json: { ...result, path: where }, text: `Signed the audit checkpoint at size ${size}: ${where}` };
        case 'unchanged':
          return { json: { ...result, path: where }, text: `The audit head has not moved since the checkpoint at size ${size}: ${where}` };
        case 'refused':
          return {
            json: { ...result, recorded: await recordRefusal(ctx, operatorActor(), result) },
            text: `CHECKPOINT REFUSED at size ${size}: ${result.detail}\nRun depotline-admin audit verify to see what changed.`,
            exitCode: exitCodes.auditBroken,
          };
      }
    };
  },
};

const auditCheckpointKey: CliCommand = {
  group: 'audit',
  name: 'checkpoint-key',
  summary: 'Print the verifier key of the checkpoint signing key (give it to whoever verifies)',
  options: {},
  prepare() {
    return (ctx) => {
      const { signer, trusted } = ctx.checkpointKeys;
      const json = { name: signer.name, keyId: signer.keyId, verifierKey: signer.verifierKey, trusted: trusted.map((v) => v.verifierKey), dir: ctx.config.checkpoints.dir };
      const text = [
        signer.verifierKey,
        '',
        `Origin and key name: ${signer.name} (key id ${signer.keyId}); checkpoints are written to ${ctx.config.checkpoints.dir}.`,
        ...(trusted.length > 0 ? ['Earlier keys still trusted:', ...trusted.map((v) => `  ${v.verifierKey}`)] : []),
      ].join('\n');
      return Promise.resolve({ json, text });
    };
  },
};

const auditCheckpointKeygen: CliCommand = {
  group: 'audit',
  name: 'checkpoint-keygen',
  summary: 'Create a new checkpoint signing key file (for a rotation); changes nothing else',
  options: {
    out: { type: 'string', value: '<file>', description: 'The new key file (created with mode 0600; never overwritten)', required: true },
    name: { type: 'string', value: '<name>', description: 'Key name and checkpoint origin (default: the current key\'s, so the log keeps its origin)' },
  },
  notes: ['Then: add the old verifier key to DEPOTLINE_CHECKPOINT_TRUSTED_KEYS, point DEPOTLINE_CHECKPOINT_KEY_FILE at the new file, restart.'],
  prepare(values) {
    const out = path.resolve(requiredString(values, 'out'));
    const name = optionalString(values, 'name');
    if (name !== undefined && !isValidKeyName(name)) throw badRequest(['--name: a key name has no spaces and no "+"']);
    if (fs.existsSync(out)) throw badRequest([`--out: ${out} already exists; choose a new file name`]);
    return (ctx) => {
      const previous = ctx.checkpointKeys.signer;
      const key = generateSignerKey(name ?? previous.name);
      try {
        fs.writeFileSync(out, key + '\n', { mode: 0o600, flag: 'wx' });
      } catch (err) {
        throw badRequest([`--out: cannot create ${out} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
      }
      const created = parseSignerKey(key);
      const text = [
        `New checkpoint key written to ${out}.`,
        `Its verifier key: ${created.verifierKey}`,
        '',
        'To rotate:',
        `  1. DEPOTLINE_CHECKPOINT_TRUSTED_KEYS=${previous.verifierKey}  (keep earlier checkpoints verifiable; append to any already there)`,
        `  2. DEPOTLINE_CHECKPOINT_KEY_FILE=${out}`,
        '  3. Restart the server, run `depotline-admin audit checkpoint`, give auditors the new verifier key.',
      ].join('\n');
      return Promise.resolve({ json: { file: out, name: created.name, keyId: created.keyId, verifierKey: created.verifierKey, previousVerifierKey: previous.verifierKey }, text });
    };
  },
};

export const checkpointCommands = [auditCheckpoint, auditCheckpointKey, auditCheckpointKeygen];
