import fs from 'node:fs/promises';
import path from 'node:path';
import {
  maxImportFileBytes, maxImportRows, readCsvOrderFile, type SheetResult, sheetFromCellRows, tooManyRows,
} from '@depotline/shared';
import ExcelJS from 'exceljs';

/**
 * An order file the user chose, read in the main process (never the page): XLSX (a zip, `PK`
 * first) through exceljs, its first worksheet with formulas as their text; anything else as
 * CSV with its encoding checked (shared/src/order-import). Too large or too long: refused whole.
 */
export async function readOrderFile(file: string): Promise<SheetResult & { fileName: string }> {
  const fileName = path.basename(file);
  const stat = await fs.stat(file).catch(() => null);
  if (!stat?.isFile()) return { ok: false, message: `${fileName} is not a file that can be read.`, fileName };
  if (stat.size > maxImportFileBytes) {
    return { ok: false, message: `${fileName} is larger than ${maxImportFileBytes / (1024 * 1024)} MB, more than one import takes. Nothing was imported.`, fileName };
  }
  const bytes = await fs.readFile(file);
  const result = isZip(bytes) ? await readXlsx(bytes) : readCsvOrderFile(bytes);
  return { ...result, fileName };
}

const isZip = (bytes: Uint8Array) => bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;

async function readXlsx(bytes: Buffer): Promise<SheetResult> {
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
