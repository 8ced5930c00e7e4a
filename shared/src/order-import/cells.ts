import { depotTimeToEpoch, parseIsoDate } from './depot-time';

/**
 * Reading one cell of an order file as the value a field takes. Each reader answers the value or
 * a sentence saying what is wrong, written for the person who made the spreadsheet.
 */
export type CellValue<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): CellValue<T> => ({ ok: true, value });
const bad = (message: string): CellValue<never> => ({ ok: false, message });

/** A formula is text to us; where a number or a time is needed, say so rather than "not a number". */
export const isFormula = (cell: string) => cell.trimStart().startsWith('=');
const formulaRefused = (cell: string) =>
  bad(`holds a formula (${clipCell(cell)}); formulas are never calculated on import: put the value itself in the cell`);

export function clipCell(cell: string, max = 40): string {
  const flat = cell.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `“${flat.slice(0, max - 1)}…”` : `“${flat}”`;
}

/** `52.52`, `-13.4`, `52,52` (a decimal comma when there is no point). */
export function readDecimal(cell: string): CellValue<number> {
  if (isFormula(cell)) return formulaRefused(cell);
  const text = cell.trim();
  const normal = /^[+-]?\d+,\d+$/.test(text) ? text.replace(',', '.') : text;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(normal)) return bad(`${clipCell(cell)} is not a number`);
  return ok(Number(normal));
}

export function readWholeNumber(cell: string): CellValue<number> {
  if (isFormula(cell)) return formulaRefused(cell);
  const text = cell.trim();
  if (!/^\d{1,9}$/.test(text)) return bad(`${clipCell(cell)} is not a whole number`);
  return ok(Number(text));
}

const yes = new Set(['yes', 'y', 'true', '1', 'x', 'ja', 'oui', 'si', 'sí']);
const no = new Set(['no', 'n', 'false', '0', 'nein', 'non', '-']);

export function readYesNo(cell: string): CellValue<boolean> {
  if (isFormula(cell)) return formulaRefused(cell);
  const text = cell.trim().toLowerCase();
  if (yes.has(text)) return ok(true);
  if (no.has(text) || text === '') return ok(false);
  return bad(`${clipCell(cell)} is not yes or no`);
}

/** An age check: a minimum age (`18`), or yes (18) / no (none). */
export function readMinimumAge(cell: string): CellValue<number | null> {
  if (isFormula(cell)) return formulaRefused(cell);
  const text = cell.trim();
  if (/^\d{1,3}$/.test(text)) {
    const age = Number(text);
    if (age === 0) return ok(null);
    if (age > 99) return bad(`${age} is not an age (1 to 99)`);
    return ok(age);
  }
  const flag = readYesNo(cell);
  if (!flag.ok) return bad(`${clipCell(cell)} is neither an age (such as 18) nor yes or no`);
  return ok(flag.value ? 18 : null);
}

/**
 * An amount in the currency's minor units: `12.50` EUR -> 1250; `1200` JPY -> 1200. More
 * decimals than the currency has are refused, never rounded away.
 */
export function readMoney(cell: string, decimals: number): CellValue<number> {
  if (isFormula(cell)) return formulaRefused(cell);
  const text = cell.trim().replace(/^[€$£¥]\s*|\s*[€$£¥]$/g, '');
  const normal = /^\d+,\d+$/.test(text) ? text.replace(',', '.') : text;
  const m = /^(\d{1,12})(?:\.(\d+))?$/.exec(normal);
  if (!m) return bad(`${clipCell(cell)} is not an amount (such as 12.50)`);
  const fraction = m[2] ?? '';
  if (fraction.length > decimals) return bad(`${clipCell(cell)} has more than ${decimals} decimal places`);
  return ok(Number(m[1]) * 10 ** decimals + Number(fraction.padEnd(decimals, '0') || '0'));
}

const decimalsOf = new Map<string, number | null>();

/** How many minor units a currency has (2 for EUR, 0 for JPY), from the runtime's Intl; asked once per code. */
export function currencyDecimals(currency: string): number | null {
  let decimals = decimalsOf.get(currency);
  if (decimals === undefined) {
    try {
      decimals = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      decimals = null;
    }
    if (decimalsOf.size < 1000) decimalsOf.set(currency, decimals);
  }
  return decimals;
}

export interface ImportDay {
  /** The day of the import, `YYYY-MM-DD`, in the depot's zone. */
  date: string;
  timeZone: string;
}

/**
 * A window time. `09:30` is on the import's day; `2026-12-01 09:30` (or with a `T`) is a wall
 * clock in the depot's zone; a time with an offset or `Z` is taken as written.
 */
export function readWindowTime(cell: string, day: ImportDay): CellValue<number> {
  if (isFormula(cell)) return formulaRefused(cell);
  const text = cell.trim();
  const timeOnly = /^(\d{1,2}):(\d{2})(?::\d{2})?$/.exec(text);
  const dateTime = /^(\d{4}-\d{2}-\d{2})[T ](\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$/.exec(text);
  const withOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text);
  if (withOffset) {
    const at = Date.parse(text);
    return Number.isNaN(at) ? bad(`${clipCell(cell)} is not a real time`) : ok(at);
  }
  let date: string;
  let hour: string;
  let minute: string;
  if (timeOnly) [date, hour, minute] = [day.date, timeOnly[1]!, timeOnly[2]!];
  else if (dateTime) [date, hour, minute] = [dateTime[1]!, dateTime[2]!, dateTime[3]!];
  else return bad(`${clipCell(cell)} is not a time: write 09:30, 2026-12-01 09:30, or 2026-12-01T09:30+01:00`);
  const d = parseIsoDate(date);
  if (!d) return bad(`${clipCell(cell)} is not a calendar date`);
  const at = depotTimeToEpoch(day.timeZone, { ...d, hour: Number(hour), minute: Number(minute) });
  if (at === null) return bad(`${clipCell(cell)} does not exist in ${day.timeZone} (not a time of day, or skipped by a clock change)`);
  return ok(at);
}

/** Barcodes in one cell, separated by spaces, commas, semicolons or `|`. */
export function readList(cell: string): string[] {
  return cell.split(/[\s,;|]+/).filter((c) => c.length > 0);
}
