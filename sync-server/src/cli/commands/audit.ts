import fs from 'node:fs';
import path from 'node:path';
import { appendAudit } from '../../audit/audit-log';
import { type AuditExportSummary, exportAuditLog } from '../../audit/export';
import { type AuditVerifyResult, verifyAuditChain } from '../../audit/verify';
import { badRequest } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, exitCodes, optionalInteger, optionalString } from '../command';

export function describeVerifyResult(result: AuditVerifyResult): string {
  if (result.ok) return `Audit log intact: ${result.entries} ${result.entries === 1 ? 'entry' : 'entries'}, head hash ${result.headHash}.`;
  const b = result.firstBroken;
  return [
    `AUDIT LOG BROKEN at seq ${b.seq} (${b.reason}).`,
    b.detail,
    `Entries 1 to ${result.entries} verified intact; nothing from seq ${b.seq} on can be trusted.`,
  ].join('\n');
}

const auditVerify: CliCommand = {
  group: 'audit',
  name: 'verify',
  summary: 'Recompute the audit hash chain and report the first broken entry',
  options: { 'batch-size': { type: 'string', value: '<n>', description: 'Entries per database read (default 5000)' } },
  notes: ['Exit status: 0 intact, 3 broken (the first broken seq is printed), 1 on other errors.'],
  prepare(values) {
    const batchSize = optionalInteger(values, 'batch-size');
    if (batchSize === 0) throw badRequest(['--batch-size: at least 1']);
    return async (ctx) => {
      const result = await verifyAuditChain(ctx.db, { batchSize });
      return { json: result, text: describeVerifyResult(result), exitCode: result.ok ? exitCodes.ok : exitCodes.auditBroken };
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

export const auditCommands = [auditVerify, auditExport];
