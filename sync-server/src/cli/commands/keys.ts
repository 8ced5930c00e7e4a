import crypto from 'node:crypto';
import fs from 'node:fs';
import { badRequest } from '../../errors';
import { fieldKeyUsage, type KeyUsage, remainingCount } from '../../provisioning/field-key-usage';
import { defaultRotationBatchSize, type RotationResult, rotateFieldKey } from '../../provisioning/field-key-rotation';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, exitCodes, optionalInteger, requiredString } from '../command';

/**
 * The field key (docs/operations.md, "Rotating the field key"): make a new one, see which key
 * every stored value is under, and re-encrypt everything under the current key.
 */

const generate: CliCommand = {
  group: 'keys',
  name: 'generate-field-key',
  summary: 'Write a new random field key to a new file (mode 0600)',
  options: { out: { type: 'string', value: '<file>', description: 'The new key file; never overwritten', required: true } },
  notes: ['Then: DEPOTLINE_FIELD_KEY_FILE=<new file>, the old file in DEPOTLINE_FIELD_KEY_PREVIOUS_FILES, restart the servers, run keys rotate-field-key.'],
  prepare(values) {
    const out = requiredString(values, 'out');
    return () => {
      try {
        fs.writeFileSync(out, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw badRequest([`--out: ${code === 'EEXIST' ? `${out} already exists; choose a new file name` : `cannot create ${out} (${code ?? 'error'})`}`]);
      }
      return Promise.resolve({ json: { file: out }, text: `New field key written to ${out}.` });
    };
  },
};

function describeUsage(u: KeyUsage): string {
  const lines = [`Current key ${u.currentKeyId}: ${u.current} values.`];
  for (const [id, n] of Object.entries(u.remaining)) lines.push(`Older key ${id}: ${n} values still to re-encrypt.`);
  if (remainingCount(u) === 0) lines.push('No readable value is under an older key.');
  for (const v of u.unreadable) lines.push(`Does not decrypt: ${v.table} ${v.rowId} ${v.column} (${v.reason}${v.keyId ? `, key ${v.keyId}` : ''})`);
  return lines.join('\n');
}

const status: CliCommand = {
  group: 'keys',
  name: 'status',
  summary: 'Count the stored encrypted values under each field key, and list those that do not decrypt',
  options: {},
  prepare() {
    return async (ctx) => {
      const usage = await fieldKeyUsage(ctx);
      return { json: usage, text: describeUsage(usage) };
    };
  },
};

function describeRotation(r: RotationResult): string {
  const head = `${r.resumed ? 'Resumed' : 'Started'} rotation ${r.rotationId} to key ${r.keyId}: ${r.batches} batches, ${r.rewritten} values re-encrypted this run (${r.totalRewritten} in all), ${r.skipped} changed meanwhile by a server and left as written.`;
  return [head, r.message].join('\n');
}

const rotate: CliCommand = {
  group: 'keys',
  name: 'rotate-field-key',
  summary: 'Re-encrypt every encrypted value under the current field key, in batches, resumably',
  options: {
    'batch-size': { type: 'string', value: '<n>', description: `Rows per batch and transaction (default ${defaultRotationBatchSize})` },
    'max-batches': { type: 'string', value: '<n>', description: 'Stop after this many batches; run again to continue' },
    'accept-unreadable': { type: 'boolean', description: 'Finish although some values are under keys that are not configured (known tampered values)' },
  },
  notes: [
    'Run it with the same environment as the servers, after restarting them with the new key in DEPOTLINE_FIELD_KEY_FILE',
    'and the old one in DEPOTLINE_FIELD_KEY_PREVIOUS_FILES. Safe to interrupt and run again: it resumes after the last batch.',
    'Exit status: 0 finished or paused (--max-batches), 1 incomplete (the message says why) or on other errors.',
  ],
  prepare(values) {
    const batchSize = optionalInteger(values, 'batch-size');
    const maxBatches = optionalInteger(values, 'max-batches');
    if (batchSize === 0) throw badRequest(['--batch-size: at least 1']);
    if (batchSize !== undefined && batchSize > 10_000) throw badRequest(['--batch-size: at most 10000']);
    if (maxBatches === 0) throw badRequest(['--max-batches: at least 1']);
    const acceptUnreadable = values['accept-unreadable'] === true;
    return async (ctx) => {
      const result = await rotateFieldKey(ctx, operatorActor(), { batchSize, maxBatches, acceptUnreadable });
      return { json: result, text: describeRotation(result), exitCode: result.outcome === 'incomplete' ? exitCodes.failed : exitCodes.ok };
    };
  },
};

export const keyCommands = [generate, status, rotate];
