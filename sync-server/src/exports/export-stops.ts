import {
  type ExportColumnKey, exportColumnsFor, exportContentTypes, exportHeaderLabels, exportRangeDays, type ExportStopsRequest,
} from '@depotline/shared';
import type { AuditActor, AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError, badRequest, forbidden, notFound } from '../errors';
import type { ViewerScope } from '../sync/visibility';
import { type Cell, localIsoTime, usableTimeZone } from './cells';
import { columnValue } from './columns';
import { encodeCsv, encodeXlsx, type ExportSheet } from './encode';
import { allowsClasses, countExportRows, loadExportRecords } from './export-rows';

/** Who an export is for: what they may see at the location, and how the file and the audit log name them. */
export interface ExportViewer {
  actor: AuditActor;
  /** "Exported by" in the file: `username (Display Name)`, or the operator's OS account. */
  name: string;
  scope: ViewerScope;
}

export type ExportRow = Partial<Record<ExportColumnKey, Cell>>;

export interface ExportFile {
  body: Buffer;
  contentType: string;
  fileName: string;
}

export interface BuiltExport {
  columns: ExportColumnKey[];
  /** The table's values before neutralisation, one object per row (the file holds the same, neutralised). */
  rows: ExportRow[];
  rowCount: number;
  file: ExportFile;
}

export const exportAction = 'export.stops';

/** `approval_required` (409): the export is allowed but above the bulk limit. */
export const approvalRequired = (rowCount: number, bulkRows: number) => new AppError(
  'approval_required', 409,
  `This export has ${rowCount} rows, more than the ${bulkRows} an export may have without approval: ask for an export.bulk approval, and download it once a second person approves.`,
);

/** Why the viewer may not run this export (a typed error and the audit reason), or null. */
export function exportRefusal(ctx: ServerContext, viewer: ExportViewer, request: ExportStopsRequest): { error: AppError; reason: string } | null {
  const view = viewer.scope.view;
  // No view: the same answer whether the location exists or not.
  if (!view) return { error: forbidden(), reason: 'no_access' };
  const may = allowsClasses(view.general, request.classes) || (view.assigned.size > 0 && allowsClasses(view.assigned, request.classes));
  if (!may) return { error: forbidden(`You may not export ${request.classes.join(' and ')} data at this location.`), reason: 'permission' };
  const days = exportRangeDays(request.from, request.to);
  const max = ctx.config.exports.maxRangeDays;
  if (days > max) return { error: badRequest([`to: the range covers ${days} days; an export covers at most ${max} (EXPORT_MAX_RANGE_DAYS)`]), reason: 'range_too_long' };
  return null;
}

/** The filters of an export as its audit entry records them. */
export function exportAuditEvent(request: ExportStopsRequest, outcome: AuditEvent['outcome'], details: Record<string, unknown>): AuditEvent {
  return {
    action: exportAction, outcome, targetType: 'location', targetId: request.locationId, locationId: request.locationId,
    details: { from: request.from, to: request.to, classes: request.classes, format: request.format, ...details },
  };
}

const fileSafe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/**
 * Builds the export for the viewer: reads the rows (redacted exactly like the viewer's sync
 * pull, export-rows.ts) and encodes the file with its header. Refuses with the typed error
 * when the viewer may not export this (permissions re-checked here, so a caller that runs an
 * approved export later gets the same decision). It neither audits nor applies the bulk limit:
 * `runExport` does both, and an approved bulk export calls this directly and audits itself.
 * Run it in the transaction its audit entry is written in.
 */
export async function buildExport(ctx: ServerContext, db: Db, viewer: ExportViewer, request: ExportStopsRequest, now: number): Promise<BuiltExport> {
  const refusal = exportRefusal(ctx, viewer, request);
  if (refusal) throw refusal.error;
  const location = await db.selectFrom('locations').select(['id', 'name', 'timezone']).where('id', '=', request.locationId).executeTakeFirst();
  if (!location) throw notFound('The location');
  const timeZone = usableTimeZone(location.timezone);
  const columns = exportColumnsFor(request.classes).map((c) => c.key);
  const records = await loadExportRecords(ctx, db, viewer.scope, request);
  const rows = records.map((r) => Object.fromEntries(columns.map((k) => [k, columnValue[k](r, timeZone)])) as ExportRow);
  const values = [
    'stops and routes, layout 1', viewer.name, localIsoTime(now, timeZone), `${location.id} (${location.name})`, timeZone,
    `${request.from} to ${request.to}`, request.classes.join(','), String(rows.length),
  ];
  const header = exportHeaderLabels.map((label, i) => [label, values[i] ?? ''] as const);
  const sheet: ExportSheet = { header, columns, rows: rows.map((row) => columns.map((k) => row[k] ?? null)) };
  const body = request.format === 'csv' ? encodeCsv(sheet) : await encodeXlsx(sheet, { creator: viewer.name, created: new Date(now) });
  return {
    columns,
    rows,
    rowCount: rows.length,
    file: {
      body,
      contentType: exportContentTypes[request.format],
      fileName: `depotline-stops_${fileSafe(location.id)}_${request.from}_${request.to}.${request.format}`,
    },
  };
}

/** What `runExport` records: the caller writes these in its transaction (or alone, after a refusal). */
export type RecordAudit = (event: AuditEvent) => void;

/**
 * The whole export as a person (REST) or the operator (CLI) runs it: refuses what the viewer
 * may not export, counts the rows and refuses a bulk export with `approval_required` (until it
 * is approved, docs/security-model.md), then builds it. Every outcome is recorded for the audit
 * log: a refusal as `denied` with its reason, a success with the filters and the row count.
 */
export async function runExport(ctx: ServerContext, db: Db, viewer: ExportViewer, request: ExportStopsRequest, now: number, record: RecordAudit): Promise<BuiltExport> {
  const refusal = exportRefusal(ctx, viewer, request);
  if (refusal) {
    record(exportAuditEvent(request, 'denied', { reason: refusal.reason }));
    throw refusal.error;
  }
  const { bulkRows } = ctx.config.exports;
  const rowCount = await countExportRows(db, viewer.scope, request);
  if (rowCount > bulkRows) {
    record(exportAuditEvent(request, 'denied', { reason: 'approval_required', rowCount, bulkRows }));
    throw approvalRequired(rowCount, bulkRows);
  }
  const built = await buildExport(ctx, db, viewer, request, now);
  record(exportAuditEvent(request, 'ok', { rowCount: built.rowCount, columns: built.columns.length }));
  return built;
}
