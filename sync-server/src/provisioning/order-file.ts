import fs from 'node:fs/promises';
import { maxImportFileBytes, maxImportRows, readCsvOrderFile, type Sheet, sheetFromCellRows, tooManyRows } from '@depotline/shared';
import ExcelJS from 'exceljs';
import { badRequest } from '../errors';

/**
 * An order file from disk as a sheet: XLSX (a zip: `PK` first) through exceljs, its first
 * worksheet, formulas as their text; anything else as CSV with its encoding checked. Refused
 * whole when it is too large or has more rows than one import takes.
 */
export async function readOrderFile(file: string): Promise<Sheet> {
  const stat = await fs.stat(file).catch(() => null);
  if (!stat?.isFile()) throw badRequest([`--file: ${file} is not a file`]);
  if (stat.size > maxImportFileBytes) throw badRequest([`--file: ${file} is larger than ${maxImportFileBytes / (1024 * 1024)} MB`]);
  const bytes = await fs.readFile(file);
  const result = isZip(bytes) ? await readXlsxSheet(bytes) : readCsvOrderFile(bytes);
  if (!result.ok) throw badRequest([result.message]);
  return result.sheet;
}

export const isZip = (bytes: Uint8Array) => bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;

/** The first worksheet; its row count is checked before any cell is read. */
export async function readXlsxSheet(bytes: Buffer): Promise<ReturnType<typeof sheetFromCellRows>> {
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch {
    return { ok: false, message: 'The file is not a readable XLSX workbook (damaged, or another format under an .xlsx name).' };
  }
  const sheet = workbook.worksheets[0];
  if (!sheet) return { ok: false, message: 'The workbook has no worksheet.' };
  if (sheet.actualRowCount > maxImportRows + 1) return { ok: false, message: tooManyRows(maxImportRows) };
  const rows: { row: number; values: unknown[] }[] = [];
  sheet.eachRow({ includeEmpty: false }, (row, number) => {
    // exceljs numbers columns from 1: index 0 is always empty.
    rows.push({ row: number, values: (row.values as unknown[]).slice(1) });
  });
  return sheetFromCellRows(rows, maxImportRows);
}
