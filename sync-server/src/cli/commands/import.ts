import fs from 'node:fs/promises';
import { ColumnMapping, EntityId, importFieldSpecs, importFields, RouteDate, suggestColumnMapping } from '@depotline/shared';
import { z } from 'zod';
import { badRequest } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { readOrderFile } from '../../provisioning/order-file';
import { importOrders, type ServerImportResult } from '../../provisioning/order-import';
import { type CliCommand, optionalString, parseCliInput, requiredString } from '../command';

const ImportArgs = z.object({
  locationId: EntityId,
  file: z.string().min(1),
  mappingFile: z.string().min(1).optional(),
  date: RouteDate.optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR').optional(),
});

async function readMapping(file: string): Promise<ColumnMapping> {
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) throw badRequest([`--mapping: ${file} cannot be read`]);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badRequest([`--mapping: ${file} is not JSON`]);
  }
  const parsed = ColumnMapping.safeParse(json);
  if (!parsed.success) throw badRequest([`--mapping: fields are ${importFields.join(', ')}, each naming a column of the file`]);
  return parsed.data;
}

function summary(r: ServerImportResult): string {
  const verb = r.dryRun ? 'Would import' : 'Imported';
  const lines = [
    `${verb} orders for ${r.locationId} on ${r.date}: ${r.created} created, ${r.updated} updated, ${r.skipped.length + r.refused.length} skipped`
      + `${r.routesCreated > 0 ? `; ${r.routesCreated} new route${r.routesCreated === 1 ? '' : 's'}` : ''}.`,
    ...[...r.skipped, ...r.refused].sort((a, b) => a.row - b.row).slice(0, 200).map((s) => `  row ${s.row}: ${s.reason}`),
  ];
  if (r.dryRun) lines.push('Dry run: nothing was changed.');
  return lines.join('\n');
}

const importOrdersCommand: CliCommand = {
  group: 'import',
  name: 'orders',
  summary: 'Import orders from a CSV or XLSX file into a location (creates stops, updates stops with the same order reference)',
  options: {
    location: { type: 'string', value: '<location id>', description: 'The depot the orders are for', required: true },
    file: { type: 'string', value: '<csv|xlsx>', description: 'The order file: CSV (UTF-8 or UTF-16) or XLSX (first worksheet)', required: true },
    mapping: { type: 'string', value: '<json file>', description: 'Which column fills which field, e.g. {"orderRef":"Order #","customerName":"Name"}; suggested from the header when omitted' },
    date: { type: 'string', value: '<YYYY-MM-DD>', description: 'The day of the orders (the depot\u2019s calendar): routes named in the file are that day\u2019s (default: today there)' },
    currency: { type: 'string', value: '<code>', description: 'Currency of amounts when the file has no currency column, e.g. EUR' },
    'dry-run': { type: 'boolean', description: 'Check the file and show what would happen; change nothing' },
    'skip-invalid': { type: 'boolean', description: 'Import the good rows and skip rows with problems (default: any problem refuses the whole file)' },
  },
  notes: [
    `Fields: ${importFields.map((f) => `${f} (${importFieldSpecs[f].label})`).join(', ')}.`,
    'Every change is applied through the same rules as a dispatcher\u2019s edits, one transaction per 500, and audited as cli:<your OS user>.',
  ],
  async prepare(values) {
    const args = parseCliInput(ImportArgs, {
      locationId: requiredString(values, 'location'), file: requiredString(values, 'file'), mappingFile: optionalString(values, 'mapping'),
      date: optionalString(values, 'date'), currency: optionalString(values, 'currency'),
    }, { locationId: 'location', mappingFile: 'mapping' });
    // The file and the mapping are read before the database is opened: a wrong file changes nothing.
    const sheet = await readOrderFile(args.file);
    const mapping = args.mappingFile ? await readMapping(args.mappingFile) : suggestColumnMapping(sheet.header);
    return async (ctx) => {
      const result = await importOrders(ctx, operatorActor(), sheet, {
        locationId: args.locationId, ...(args.date ? { date: args.date } : {}), currency: args.currency ?? null, mapping,
        dryRun: values['dry-run'] === true, skipInvalid: values['skip-invalid'] === true,
      });
      return { json: { import: result }, text: summary(result) };
    };
  },
};

export const importCommands = [importOrdersCommand];
