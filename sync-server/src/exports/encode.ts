import ExcelJS from 'exceljs';
import { type Cell, neutraliseCell } from './cells';

/**
 * An export as rows of cells, in the file layout of shared/src/exports.ts: `label, value`
 * header rows, one empty row, the column keys, then the data. Both encoders neutralise every
 * cell (cells.ts), header values included: a username or a location name is text too.
 */
export interface ExportSheet {
  header: readonly (readonly [string, string])[];
  columns: readonly string[];
  rows: readonly (readonly Cell[])[];
}

function sheetRows(sheet: ExportSheet): Cell[][] {
  return [...sheet.header.map((h) => [...h]), [], [...sheet.columns], ...sheet.rows.map((r) => [...r])]
    .map((row) => row.map(neutraliseCell));
}

/** RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled. */
function csvField(cell: Cell): string {
  if (cell === null) return '';
  const text = String(cell);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * UTF-8 with a byte order mark (so spreadsheet programs do not guess a legacy code page), CRLF
 * line ends as RFC 4180 says.
 */
export function encodeCsv(sheet: ExportSheet): Buffer {
  const lines = sheetRows(sheet).map((row) => row.map(csvField).join(','));
  return Buffer.from(`\uFEFF${lines.join('\r\n')}\r\n`, 'utf8');
}

/**
 * ECMA-376 ST_Xstring escaping: XML turns a carriage return into a line feed when read, so a CR
 * is written `_x000D_`, and an underscore that would start such an escape is itself escaped
 * (`_x005F_`). Readers (Excel, LibreOffice, exceljs) give the original text back.
 */
function xstring(text: string): string {
  return text.replace(/_(?=x[0-9A-Fa-f]{4}_)/g, '_x005F_').replaceAll('\r', '_x000D_');
}

/**
 * One worksheet, `Stops`, with the same rows as the CSV. Every cell is written as a plain value
 * (text or number), never as a formula.
 */
export async function encodeXlsx(sheet: ExportSheet, meta: { creator: string; created: Date }): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = meta.creator;
  workbook.created = meta.created;
  const ws = workbook.addWorksheet('Stops');
  for (const row of sheetRows(sheet)) ws.addRow(row.map((c) => (typeof c === 'string' ? xstring(c) : c)));
  ws.getRow(sheet.header.length + 2).font = { bold: true };
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
