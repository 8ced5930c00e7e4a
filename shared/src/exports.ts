import { z } from 'zod';
import { EntityId } from './domain';
import type { Permission } from './permissions';

/*
 * Exports of a depot's stops and routes (docs/api.md "Exports", docs/security-model.md
 * "Exports"). The server builds the file; these are the request, the column list and the
 * limits a client needs to offer the export and read the file back.
 */

/** What an export may contain. Each class needs its own permission at the location. */
export const exportDataClasses = ['operational', 'customer', 'billing'] as const;
export const ExportDataClass = z.enum(exportDataClasses);
export type ExportDataClass = z.infer<typeof ExportDataClass>;

export const exportClassPermission: Readonly<Record<ExportDataClass, Permission>> = {
  operational: 'export.operational',
  customer: 'export.customer',
  billing: 'export.billing',
};

export const exportFormats = ['csv', 'xlsx'] as const;
export const ExportFormat = z.enum(exportFormats);
export type ExportFormat = z.infer<typeof ExportFormat>;

export const exportContentTypes: Readonly<Record<ExportFormat, string>> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/**
 * The columns of a stops export, in file order. This is the one list: a new field (issue 11's
 * order and billing data) is one entry here and one value reader on the server, whose table is
 * typed over these keys. `key` columns identify a row and come with any class; the others
 * appear only when their class is exported. A value the viewer may not see is an empty cell.
 */
export const exportColumns = [
  { key: 'route_date', title: 'Route date', dataClass: 'key' },
  { key: 'route_id', title: 'Route id', dataClass: 'key' },
  { key: 'stop_id', title: 'Stop id', dataClass: 'key' },
  { key: 'route_name', title: 'Route', dataClass: 'operational' },
  { key: 'driver_id', title: 'Driver id', dataClass: 'operational' },
  { key: 'driver_name', title: 'Driver', dataClass: 'operational' },
  { key: 'vehicle_id', title: 'Vehicle id', dataClass: 'operational' },
  { key: 'vehicle_label', title: 'Vehicle', dataClass: 'operational' },
  { key: 'sequence', title: 'Stop no.', dataClass: 'operational' },
  { key: 'status', title: 'Status', dataClass: 'operational' },
  { key: 'window_start', title: 'Window start', dataClass: 'operational' },
  { key: 'window_end', title: 'Window end', dataClass: 'operational' },
  { key: 'eta', title: 'ETA', dataClass: 'operational' },
  { key: 'stop_updated_at', title: 'Stop updated at', dataClass: 'operational' },
  { key: 'stop_updated_by', title: 'Stop updated by', dataClass: 'operational' },
  { key: 'order_ref', title: 'Order ref', dataClass: 'operational' },
  { key: 'parcel_count', title: 'Parcels', dataClass: 'operational' },
  { key: 'barcodes', title: 'Barcodes', dataClass: 'operational' },
  { key: 'minimum_age', title: 'Minimum age', dataClass: 'operational' },
  { key: 'id_check', title: 'ID check', dataClass: 'operational' },
  { key: 'failure_reason', title: 'Failure reason', dataClass: 'operational' },
  { key: 'route_updated_at', title: 'Route updated at', dataClass: 'operational' },
  { key: 'route_updated_by', title: 'Route updated by', dataClass: 'operational' },
  { key: 'customer_name', title: 'Customer', dataClass: 'customer' },
  { key: 'address', title: 'Address', dataClass: 'customer' },
  { key: 'phone', title: 'Phone', dataClass: 'customer' },
  { key: 'latitude', title: 'Latitude', dataClass: 'customer' },
  { key: 'longitude', title: 'Longitude', dataClass: 'customer' },
  { key: 'email', title: 'Email', dataClass: 'customer' },
  { key: 'notes', title: 'Delivery notes', dataClass: 'customer' },
  { key: 'failure_note', title: 'Failure note', dataClass: 'customer' },
  /** Customer fields whose stored value did not decrypt (altered in the database), comma-separated: empty in this file, not missing. */
  { key: 'withheld', title: 'Withheld (did not decrypt)', dataClass: 'customer' },
  { key: 'payment_ref', title: 'Payment ref', dataClass: 'billing' },
  /** Amounts are integers in the currency's minor units (cents), as stored. */
  { key: 'cod_amount_minor', title: 'Collect on delivery (minor units)', dataClass: 'billing' },
  { key: 'delivery_fee_minor', title: 'Delivery fee (minor units)', dataClass: 'billing' },
  { key: 'currency', title: 'Currency', dataClass: 'billing' },
] as const satisfies readonly { key: string; title: string; dataClass: 'key' | ExportDataClass }[];

export type ExportColumn = (typeof exportColumns)[number];
export type ExportColumnKey = ExportColumn['key'];

/** The columns an export of these classes has, in file order. */
export function exportColumnsFor(classes: readonly ExportDataClass[]): ExportColumn[] {
  return exportColumns.filter((c) => c.dataClass === 'key' || classes.includes(c.dataClass));
}

/**
 * The file layout: `exportHeaderRows` rows of `label, value` pairs (who exported it, when,
 * where, which range and classes, how many rows), one empty row, then the table: a row of
 * column keys (`exportColumns[].key`) and one row per stop (a route without stops is one row
 * with empty stop cells). A reader skips `exportTableStartRow - 1` rows (e.g. pandas
 * `skiprows=9`) and reads a plain table. Times are ISO 8601 in the depot's time zone, with
 * its offset. A cell that began with = + - @ tab, CR or ' was prefixed with one ' (formula
 * injection); drop one leading ' to get the value back.
 */
export const exportHeaderLabels = [
  'Depotline export', 'Exported by', 'Exported at', 'Location', 'Time zone', 'Date range', 'Data classes', 'Rows',
] as const;
export const exportHeaderRows = exportHeaderLabels.length;
/** 1-based row number of the column-key row (after the header and one empty row). */
export const exportTableStartRow = exportHeaderRows + 2;

/** The hard ceiling on a range, whatever the server's policy (EXPORT_MAX_RANGE_DAYS) says. */
export const exportRangeDaysCeiling = 366;
export const defaultExportMaxRangeDays = 31;
/** Exports with more rows than this (EXPORT_BULK_ROWS) are bulk and need a second person's approval. */
export const defaultExportBulkRows = 5000;

const dayMs = 86_400_000;

/** A real calendar day `YYYY-MM-DD` (2026-02-30 is refused, not rolled over). */
export const CalendarDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'dates are YYYY-MM-DD').refine((s) => {
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}, 'not a calendar date');

/** Days from `from` to `to`, both included (1 for a single day). */
export function exportRangeDays(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / dayMs) + 1;
}

/** `operational,customer` in a query string; each class once, in catalogue order. */
export const ExportClassList = z
  .string()
  .max(200)
  .transform((s, ctx) => {
    const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
    const bad = parts.filter((p) => !(exportDataClasses as readonly string[]).includes(p));
    if (bad.length > 0 || parts.length === 0) {
      ctx.addIssue({ code: 'custom', message: `data classes are ${exportDataClasses.join(', ')} (comma-separated)` });
      return z.NEVER;
    }
    return exportDataClasses.filter((c) => parts.includes(c));
  });

function checkRange(v: { from: string; to: string }, ctx: z.RefinementCtx): void {
  if (v.to < v.from) ctx.addIssue({ code: 'custom', path: ['to'], message: '"to" is before "from"' });
  else if (exportRangeDays(v.from, v.to) > exportRangeDaysCeiling) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: `a range covers at most ${exportRangeDaysCeiling} days` });
  }
}

/**
 * `GET /api/v1/locations/:locationId/exports/stops` query: routes whose `date` (a day in the
 * depot's time zone) is in [from, to], both included. The server's policy may allow fewer days
 * than the ceiling; it answers `bad_request` naming the limit.
 */
export const ExportStopsQuery = z
  .object({
    from: CalendarDate,
    to: CalendarDate,
    format: ExportFormat.default('csv'),
    classes: ExportClassList.default(['operational']),
  })
  .strict()
  .superRefine(checkRange);
export type ExportStopsQuery = z.output<typeof ExportStopsQuery>;

/** The same query for `.../exports/stops/preview` (no format: nothing is produced). */
export const ExportPreviewQuery = z
  .object({ from: CalendarDate, to: CalendarDate, classes: ExportClassList.default(['operational']) })
  .strict()
  .superRefine(checkRange);
export type ExportPreviewQuery = z.output<typeof ExportPreviewQuery>;

/**
 * One export, complete: what an approval request for a bulk export carries and what the
 * server runs when it is approved.
 */
export const ExportStopsRequest = z
  .object({
    locationId: EntityId,
    from: CalendarDate,
    to: CalendarDate,
    format: ExportFormat,
    classes: z.array(ExportDataClass).min(1).max(exportDataClasses.length),
  })
  .strict()
  .superRefine(checkRange);
export type ExportStopsRequest = z.output<typeof ExportStopsRequest>;

/** What the console shows before exporting: the row count and whether it needs approval. */
export const ExportPreview = z.object({
  locationId: EntityId,
  from: CalendarDate,
  to: CalendarDate,
  classes: z.array(ExportDataClass),
  columns: z.array(z.string()),
  rowCount: z.number().int().nonnegative(),
  maxRangeDays: z.number().int().positive(),
  bulkRows: z.number().int().nonnegative(),
  /** True when `rowCount` is above `bulkRows`: the export needs a second person's approval. */
  needsApproval: z.boolean(),
});
export type ExportPreview = z.infer<typeof ExportPreview>;

/** Response headers of an export file, besides Content-Type and Content-Disposition. */
export const exportRowCountHeader = 'X-Depotline-Export-Rows';
