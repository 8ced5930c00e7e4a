import fs from 'node:fs';
import path from 'node:path';
import { EntityId, ExportStopsQuery, type ExportStopsRequest } from '@depotline/shared';
import { z } from 'zod';
import { appendAuditEntries, type AuditEvent } from '../../audit/audit-log';
import { badRequest } from '../../errors';
import { type BuiltExport, runExport } from '../../exports/export-stops';
import { operatorViewer } from '../../exports/export-viewer';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, optionalString, parseCliInput, requiredString } from '../command';

const exportStops: CliCommand = {
  group: 'export',
  name: 'stops',
  summary: 'Export a location\u2019s stops and routes for a date range to a CSV or XLSX file',
  options: {
    location: { type: 'string', value: '<location id>', description: 'The location (depot)', required: true },
    from: { type: 'string', value: '<YYYY-MM-DD>', description: 'First route date, in the depot\u2019s time zone', required: true },
    to: { type: 'string', value: '<YYYY-MM-DD>', description: 'Last route date (included)', required: true },
    format: { type: 'string', value: '<csv|xlsx>', description: 'File format (default csv)' },
    classes: { type: 'string', value: '<list>', description: 'operational, customer or operational,customer (default operational)' },
    out: { type: 'string', value: '<file>', description: 'Write to this new file (mode 0600); an existing file is never overwritten', required: true },
  },
  notes: [
    'Runs as the operator: every field is exported, and the audit log records the export (export.stops) with the OS account.',
    'The range and bulk limits apply (EXPORT_MAX_RANGE_DAYS, EXPORT_BULK_ROWS); the file layout is in docs/api.md.',
  ],
  prepare(values) {
    const query = parseCliInput(ExportStopsQuery, {
      from: requiredString(values, 'from'), to: requiredString(values, 'to'),
      ...(optionalString(values, 'format') !== undefined ? { format: optionalString(values, 'format') } : {}),
      ...(optionalString(values, 'classes') !== undefined ? { classes: optionalString(values, 'classes') } : {}),
    });
    const { location } = parseCliInput(z.object({ location: EntityId }), { location: requiredString(values, 'location') });
    const request: ExportStopsRequest = { locationId: location, ...query };
    const file = path.resolve(requiredString(values, 'out'));
    if (fs.existsSync(file)) throw badRequest([`--out: ${file} already exists; choose a new file name`]);
    return async (ctx) => {
      const actor = operatorActor();
      const viewer = operatorViewer(actor, request.locationId);
      const pending: AuditEvent[] = [];
      const flush = async (db: typeof ctx.db) => {
        const events = pending.splice(0);
        if (events.length > 0) await appendAuditEntries(db, events.map((event) => ({ actor, event })), ctx.now());
      };
      // The file is claimed before the export runs, so a name taken meanwhile fails before any audit entry.
      const fd = openNewFile(file);
      let built: BuiltExport;
      try {
        built = await ctx.db.transaction().execute(async (trx) => {
          const b = await runExport(ctx, trx, viewer, request, ctx.now(), (event) => void pending.push(event));
          await flush(trx);
          return b;
        });
        fs.writeSync(fd, built.file.body);
      } catch (err) {
        fs.rmSync(file, { force: true });
        throw err;
      } finally {
        fs.closeSync(fd);
        // A refusal rolled the transaction back: its audit entry is written on its own.
        if (pending.length > 0) await ctx.db.transaction().execute(flush);
      }
      const summary = { file, rowCount: built.rowCount, columns: built.columns, ...request };
      return {
        json: summary,
        text: `Exported ${built.rowCount} ${built.rowCount === 1 ? 'row' : 'rows'} (${request.classes.join(', ')}) of ${request.locationId}, ${request.from} to ${request.to}, to ${file}.`,
      };
    };
  },
};

function openNewFile(file: string): number {
  try {
    // Never overwrite; 0600: the file holds customer data.
    return fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw badRequest([`--out: ${file} already exists; choose a new file name`]);
    throw badRequest([`--out: cannot create ${file} (${code ?? 'error'})`]);
  }
}

export const exportCommands = [exportStops];
