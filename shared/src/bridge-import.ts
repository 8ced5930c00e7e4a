import { z } from 'zod';
import { EntityId, RouteDate } from './domain';
import { CurrencyCode } from './orders';
import { ColumnMapping, ImportField } from './order-import/columns';

/*
 * The order import's part of the bridge (bridge.ts lists the calls). The page never touches the
 * file: main asks where it is (the system's open dialog), reads and keeps it, and answers with
 * its header, the suggested mapping and, per preview, one page of checked rows. Applying queues
 * the edits in the outbox in batches; the page polls the progress while it waits.
 */

const Text = z.string().max(2000);

export const ImportFieldView = z.object({ field: ImportField, label: z.string().max(100), required: z.boolean() });

export const ImportFileView = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('cancelled') }),
  z.object({
    outcome: z.literal('chosen'),
    fileName: z.string().max(260),
    rowCount: z.number().int().nonnegative(),
    header: z.array(z.string().max(200)).max(200),
    /** The remembered mapping for the depot where it still fits, otherwise one suggested from the header. */
    mapping: ColumnMapping,
    /** The fields the user may map (billing only with `stop.readBilling`). */
    fields: z.array(ImportFieldView).max(40),
    /** The depot's today, the default day of the orders. */
    date: RouteDate,
  }),
]);
export type ImportFileView = z.infer<typeof ImportFileView>;

export const ImportRowView = z.object({
  row: z.number().int().positive(),
  action: z.enum(['create', 'update', 'skip']),
  orderRef: z.string().max(200).nullable(),
  routeName: z.string().max(200).nullable(),
  /** Why it is skipped (every problem of the row, in words), or a remark on an update. */
  reason: Text.nullable(),
  problems: z.array(z.object({ column: z.string().max(200).nullable(), message: Text })).max(40),
  changes: z.array(z.string().max(40)).max(40),
});
export type ImportRowView = z.infer<typeof ImportRowView>;

export const ImportPreviewView = z.object({
  /** Whole-file problems (a required column not chosen...): then nothing can be imported and there are no rows. */
  problems: z.array(Text).max(40),
  counts: z.object({ create: z.number().int().nonnegative(), update: z.number().int().nonnegative(), skip: z.number().int().nonnegative() }),
  /** Rows with problems, of the skipped. */
  invalid: z.number().int().nonnegative(),
  newRoutes: z.array(z.string().max(200)).max(1000),
  /** The rows asked for (`offset`, `limit`), in file order, or only those with problems. */
  rows: z.array(ImportRowView).max(500),
  /** How many rows the filter matches. */
  matching: z.number().int().nonnegative(),
});
export type ImportPreviewView = z.infer<typeof ImportPreviewView>;

export const ImportPreviewArgs = z.object({
  locationId: EntityId,
  mapping: ColumnMapping,
  date: RouteDate,
  currency: CurrencyCode.nullable(),
  offset: z.number().int().nonnegative().max(1_000_000),
  limit: z.number().int().positive().max(500),
  onlyProblems: z.boolean().optional(),
}).strict();

export const ImportSummaryView = z.object({
  created: z.number().int().nonnegative(),
  updated: z.number().int().nonnegative(),
  routesCreated: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  /** The first skipped rows with their reasons. */
  skippedRows: z.array(z.object({ row: z.number().int().nonnegative(), reason: Text })).max(500),
});
export type ImportSummaryView = z.infer<typeof ImportSummaryView>;

export const ImportProgressView = z.object({ done: z.number().int().nonnegative(), total: z.number().int().nonnegative() }).nullable();

export const importBridgeCalls = {
  /** Main shows the system's open dialog (CSV, XLSX) and reads the chosen file. */
  importChooseFile: { args: z.object({ locationId: EntityId }).strict(), result: ImportFileView },
  importPreview: { args: ImportPreviewArgs, result: ImportPreviewView },
  /** Queues the preview's creates and updates (same mapping, day and currency) and remembers the mapping. */
  importApply: { args: ImportPreviewArgs.omit({ offset: true, limit: true, onlyProblems: true }).strict(), result: ImportSummaryView },
  importProgress: { args: z.object({}).strict(), result: ImportProgressView },
  /** Forgets the chosen file. */
  importDiscard: { args: z.object({}).strict(), result: z.null() },
} as const;
