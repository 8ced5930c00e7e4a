import fs from 'node:fs';
import path from 'node:path';
import { appendAudit } from '../../audit/audit-log';
import { type AuditExportSummary, exportAuditLog } from '../../audit/export';
import type { AuditVerifyResult } from '../../audit/verify';
import { type AuditLogVerifyResult, verifyAuditLog } from '../../audit/verify-checkpoints';
import type { ServerContext } from '../../context';
import { NoteError, type NoteVerifier, parseVerifierKey } from '../../crypto/signed-note';
import { badRequest } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, commaList, exitCodes, optionalInteger, optionalString } from '../command';
import { checkpointCommands } from './audit-checkpoints';

export function describeVerifyResult(result: AuditVerifyResult): string {
  const anchor = result.anchor ?? null;
  const first = anchor?.firstSeq ?? 1;
  const pruned = anchor
    ? `\nPruned: entries 1 to ${anchor.firstSeq - 1} were deleted past the audit period on ${new Date(anchor.prunedAt).toISOString()} (audit.prune entry ${anchor.pruneSeq}); the chain starts at the anchor, seq ${anchor.firstSeq}, from hash ${anchor.prevHash} (signed in ${anchor.checkpointFile}).`
    : '';
  if (result.ok) return `Audit log intact: ${result.entries} ${result.entries === 1 ? 'entry' : 'entries'}${anchor ? ` (seq ${first} to ${result.entries} kept)` : ''}, head hash ${result.headHash}.${pruned}`;
  const b = result.firstBroken;
  return [
    `AUDIT LOG BROKEN at seq ${b.seq} (${b.reason}).`,
    b.detail,
    result.entries >= first ? `Entries ${first} to ${result.entries} verified intact; nothing from seq ${b.seq} on can be trusted.` : `No entry verified; nothing from seq ${b.seq} on can be trusted.`,
  ].join('\n') + pruned;
}

/** The chain's verdict, then the checkpoints'. A consistent chain that a checkpoint contradicts was rewritten. */
export function describeLogVerifyResult(result: AuditLogVerifyResult): string {
  const { chain, checkpoints } = result;
  const lines: string[] = [];
  if (chain.ok && checkpoints.problems.length > 0) {
    lines.push('AUDIT LOG DOES NOT MATCH ITS SIGNED CHECKPOINTS: the chain is consistent, but not the one that was signed.');
  }
  lines.push(describeVerifyResult(chain));
  if (checkpoints.latest) {
    lines.push(`Checkpoints: ${checkpoints.matched} signed ${checkpoints.matched === 1 ? 'checkpoint matches' : 'checkpoints match'} the log; the latest covers seq 1 to ${checkpoints.latest.size}`
      + `${checkpoints.uncovered > 0 ? ` (${checkpoints.uncovered} later ${checkpoints.uncovered === 1 ? 'entry is' : 'entries are'} not covered yet)` : ''}`
      + `${checkpoints.pruned > 0 ? `; ${checkpoints.pruned} older ${checkpoints.pruned === 1 ? 'checkpoint signs' : 'checkpoints sign'} entries since pruned` : ''}; directory ${checkpoints.dir}.`);
  } else if (checkpoints.problems.length === 0) {
    lines.push(`Checkpoints: none in ${checkpoints.dir}, so a rewrite of the whole log and its head would go unnoticed (run \`audit checkpoint\`).`);
  }
  if (checkpoints.problems.length > 0) {
    lines.push(`CHECKPOINT PROBLEMS (${checkpoints.problems.length}):`);
    for (const p of checkpoints.problems) lines.push(`  ${p.file}${p.size === null ? '' : ` (size ${p.size})`}: ${p.kind}. ${p.detail}`);
  }
  return lines.join('\n');
}

function verifiersFrom(option: string | undefined, ctx: ServerContext): NoteVerifier[] {
  if (option === undefined) return [ctx.checkpointKeys.signer, ...ctx.checkpointKeys.trusted];
  return commaList(option).map((key) => {
    try {
      return parseVerifierKey(key);
    } catch (err) {
      if (err instanceof NoteError) throw badRequest([`--verifier: ${err.message}`]);
      throw err;
    }
  });
}

/** A failed verification is itself recorded: who ran it and what it found. Best effort; never hides the result. */
async function recordFailure(ctx: ServerContext, result: AuditLogVerifyResult): Promise<boolean> {
  try {
    await ctx.db.transaction().execute((trx) => appendAudit(trx, operatorActor(), {
      action: 'audit.verify', outcome: 'failed', targetType: 'audit_log',
      details: {
        chain: result.chain.ok ? 'intact' : { seq: result.chain.firstBroken.seq, reason: result.chain.firstBroken.reason },
        checkpointProblems: result.checkpoints.problems.slice(0, 20).map((p) => ({ kind: p.kind, file: p.file, size: p.size })),
      },
    }, ctx.now()));
    return true;
  } catch {
    return false;
  }
}

const auditVerify: CliCommand = {
  group: 'audit',
  name: 'verify',
  summary: 'Recompute the audit hash chain, check it against every signed checkpoint, report what is broken',
  options: {
    'batch-size': { type: 'string', value: '<n>', description: 'Entries per database read (default 5000)' },
    checkpoints: { type: 'string', value: '<dir>', description: 'Checkpoint directory (default DEPOTLINE_CHECKPOINT_DIR), e.g. a copy from off-host storage' },
    verifier: { type: 'string', value: '<key,...>', description: 'Trust only these verifier keys (default: the server\'s key and DEPOTLINE_CHECKPOINT_TRUSTED_KEYS)' },
  },
  notes: [
    'Exit status: 0 intact, 3 broken (the chain, or a checkpoint it does not match), 1 on other errors.',
    'A failed verification is recorded in the audit log (audit.verify, outcome failed).',
  ],
  prepare(values) {
    const batchSize = optionalInteger(values, 'batch-size');
    if (batchSize === 0) throw badRequest(['--batch-size: at least 1']);
    const dirOption = optionalString(values, 'checkpoints');
    const verifierOption = optionalString(values, 'verifier');
    return async (ctx) => {
      const verifiers = verifiersFrom(verifierOption, ctx);
      const dir = dirOption === undefined ? ctx.config.checkpoints.dir : path.resolve(dirOption);
      const result = await verifyAuditLog(ctx.db, { dir, verifiers }, { batchSize });
      const recorded = result.ok ? false : await recordFailure(ctx, result);
      // The chain's fields stay at the top level (scripts read ok, entries, firstBroken); ok covers the checkpoints too.
      const json = { ...result.chain, ok: result.ok, chainOk: result.chain.ok, checkpoints: result.checkpoints, ...(result.ok ? {} : { recorded }) };
      return { json, text: describeLogVerifyResult(result), exitCode: result.ok ? exitCodes.ok : exitCodes.auditBroken };
    };
  },
};

function openExportFile(file: string): fs.WriteStream {
  try {
    // Never overwrite: an earlier export may be evidence. 0600: the log names people and IPs.
    const fd = fs.openSync(file, 'wx', 0o600);
    return fs.createWriteStream(file, { fd });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw badRequest([`--out: ${file} already exists; choose a new file name`]);
    throw badRequest([`--out: cannot create ${file} (${code ?? 'error'})`]);
  }
}

function closeStream(stream: fs.WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

const auditExport: CliCommand = {
  group: 'audit',
  name: 'export',
  summary: 'Export the audit log as JSON lines, with a verification summary as the last line',
  options: {
    out: { type: 'string', value: '<file>', description: 'Write to this new file (mode 0600) instead of stdout' },
    location: { type: 'string', value: '<location id>', description: 'Only entries about this location' },
    after: { type: 'string', value: '<seq>', description: 'Only entries after this seq (continue an earlier export)' },
  },
  notes: ['Each line is one entry; the last line is {"type":"summary",...}. Exit status 3 when the chain is broken.'],
  prepare(values, io) {
    const out = optionalString(values, 'out');
    const locationId = optionalString(values, 'location')?.trim() ?? null;
    const afterSeq = optionalInteger(values, 'after') ?? 0;
    const file = out === undefined ? null : path.resolve(out);
    if (file !== null && fs.existsSync(file)) throw badRequest([`--out: ${file} already exists; choose a new file name`]);
    return async (ctx) => {
      const stream = file === null ? null : openExportFile(file);
      let summary: AuditExportSummary;
      try {
        // Exports are audited before they run, so the export carries its own record.
        await ctx.db.transaction().execute((trx) => appendAudit(trx, operatorActor(), {
          action: 'audit.export', outcome: 'ok', targetType: 'audit_log', locationId,
          details: { afterSeq, locationId, destination: file ?? 'stdout' },
        }, ctx.now()));
        summary = await exportAuditLog(ctx.db, stream ?? io.stdout, { locationId, afterSeq });
        if (stream) await closeStream(stream);
      } catch (err) {
        if (stream && file) {
          stream.destroy();
          fs.rmSync(file, { force: true });
        }
        throw err;
      }
      // And once it has run, how much was read: the count is known only now (docs/security-model.md).
      await ctx.db.transaction().execute((trx) => appendAudit(trx, operatorActor(), {
        action: 'audit.read', outcome: 'ok', targetType: 'audit_log', locationId,
        details: { via: 'cli export', filters: { locationId, after: afterSeq }, returned: summary.exported, destination: file ?? 'stdout' },
      }, ctx.now()));
      const exitCode = summary.verify.ok ? exitCodes.ok : exitCodes.auditBroken;
      const text = [`Exported ${summary.exported} entries${file ? ` to ${file}` : ''}.`, describeVerifyResult(summary.verify)].join('\n');
      // On stdout the summary is already the export's last line; people get it on stderr too.
      return file ? { json: summary, text, exitCode } : { json: undefined, text, exitCode, output: 'stderr' };
    };
  },
};

export const auditCommands = [auditVerify, auditExport, ...checkpointCommands];
