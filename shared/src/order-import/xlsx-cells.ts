import { tooManyRows, type SheetResult, type SheetRow } from './csv';

/**
 * A worksheet's cells as text, from the values a spreadsheet reader (exceljs in the console's
 * main process and the server's CLI) hands out. A formula cell is its formula text, `=` and all:
 * never its cached result, which is what Excel computed and what an attacker's file can set to
 * anything. Dates written as dates become the wall-clock text the window reader takes.
 */
export function xlsxCellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value instanceof Date) return wallClockText(value);
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v['formula'] === 'string') return `=${v['formula']}`;
    if (typeof v['sharedFormula'] === 'string') return `=${v['sharedFormula']}`;
    const rich: unknown = v['richText'];
    if (Array.isArray(rich)) {
      return rich.map((part: unknown) => {
        const text = (part as { text?: unknown } | null)?.text;
        return typeof text === 'string' ? text : '';
      }).join('');
    }
    if (typeof v['text'] === 'string') return v['text'];
    if (typeof v['error'] === 'string') return v['error'];
  }
  return '';
}

/**
 * Spreadsheet dates carry no zone: the reader gives the wall clock as if it were UTC. A time
 * alone sits on Excel's day zero (1899-12-30) and is written as `HH:MM`.
 */
function wallClockText(d: Date): string {
  const iso = d.toISOString();
  const time = iso.slice(11, 16);
  if (iso.startsWith('1899-12-30') || iso.startsWith('1899-12-31')) return time;
  return time === '00:00' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${time}`;
}

/**
 * Rows of cell values (row number, then the values by column from the first) as a sheet: the first non-blank row is the header. Stops past `maxRows` records.
 */
export function sheetFromCellRows(rows: Iterable<{ row: number; values: readonly unknown[] }>, maxRows: number): SheetResult {
  let header: string[] | null = null;
  const out: SheetRow[] = [];
  for (const r of rows) {
    const cells = Array.from(r.values, xlsxCellText);
    if (!cells.some((c) => c.trim() !== '')) continue;
    if (header === null) {
      header = cells.map((c) => c.trim());
      continue;
    }
    out.push({ row: r.row, cells });
    if (out.length > maxRows) return { ok: false, message: tooManyRows(maxRows) };
  }
  if (header === null) return { ok: false, message: 'The first worksheet is empty: it has no header row and no orders.' };
  return { ok: true, sheet: { header, rows: out } };
}
