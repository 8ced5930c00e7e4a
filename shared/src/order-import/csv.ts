/**
 * A CSV reader for order files, RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180) plus what
 * spreadsheet programs really write: a `;` or tab separator (Excel in many European locales, and
 * "Unicode text"), bare LF or CR line ends, and a final line without one. Written here rather
 * than taken from a package because shared/ depends on nothing but zod and runs in the console's
 * main process and the server alike; the grammar is small and every branch is tested.
 *
 * Cells are text and stay text: nothing is evaluated, a cell starting with `=` is a string.
 */

export interface SheetRow {
  /** Where the record starts in the file, 1-based as a spreadsheet numbers rows (the header is row 1). */
  row: number;
  cells: string[];
}

/** A file read into a header and records; blank lines are left out. */
export interface Sheet {
  header: string[];
  rows: SheetRow[];
}

export type SheetResult = { ok: true; sheet: Sheet } | { ok: false; message: string };

export type CsvSeparator = ',' | ';' | '\t';

/** The separator the header line uses most, outside quotes; a comma when it uses none. */
export function detectSeparator(text: string): CsvSeparator {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && (c === ',' || c === ';' || c === '\t')) counts[c] += 1;
  }
  const best = (Object.entries(counts) as [CsvSeparator, number][]).sort((a, b) => b[1] - a[1])[0]!;
  return best[1] > 0 ? best[0] : ',';
}

/**
 * Reads CSV text into a sheet. `maxRows` records (not counting the header) at most: past that
 * the reading stops and the file is refused whole, so a 100,000-line file costs no more than the
 * limit to turn down.
 */
export function parseCsv(text: string, options: { maxRows: number; separator?: CsvSeparator }): SheetResult {
  const sep = options.separator ?? detectSeparator(text);
  const records: SheetRow[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const cells: string[] = [];
    let endOfRecord = false;
    while (!endOfRecord) {
      let cell = '';
      if (text[i] === '"') {
        i += 1;
        let closed = false;
        while (i < n) {
          const quote = text.indexOf('"', i);
          if (quote < 0) break;
          const chunk = text.slice(i, quote);
          cell += chunk;
          line += countLineEnds(chunk);
          if (text[quote + 1] === '"') {
            cell += '"';
            i = quote + 2;
          } else {
            i = quote + 1;
            closed = true;
            break;
          }
        }
        if (!closed) return { ok: false, message: `Row ${startLine}: a quoted cell is never closed (a " is missing), so the rest of the file cannot be read.` };
        // Text after the closing quote up to the separator belongs to the cell (lenient, as spreadsheets are).
        while (i < n && text[i] !== sep && text[i] !== '\n' && text[i] !== '\r') cell += text[i++];
      } else {
        let j = i;
        while (j < n && text[j] !== sep && text[j] !== '\n' && text[j] !== '\r') j++;
        cell = text.slice(i, j);
        i = j;
      }
      cells.push(cell);
      if (i >= n) {
        endOfRecord = true;
      } else if (text[i] === sep) {
        i += 1;
        if (i >= n) {
          cells.push('');
          endOfRecord = true;
        }
      } else {
        i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line += 1;
        endOfRecord = true;
      }
    }
    if (cells.some((c) => c.trim() !== '')) {
      records.push({ row: startLine, cells });
      // The header is records[0].
      if (records.length > options.maxRows + 1) return { ok: false, message: tooManyRows(options.maxRows) };
    }
  }
  const [header, ...rows] = records;
  if (!header) return { ok: false, message: 'The file is empty: it has no header row and no orders.' };
  return { ok: true, sheet: { header: header.cells.map((h) => h.trim()), rows } };
}

export function tooManyRows(maxRows: number): string {
  return `The file has more than ${maxRows.toLocaleString('en-US')} orders, the most one import takes. Nothing was imported: split it into smaller files.`;
}

function countLineEnds(s: string): number {
  let k = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\n') k++;
    else if (s[i] === '\r' && s[i + 1] !== '\n') k++;
  }
  return k;
}
