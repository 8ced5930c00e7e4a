/**
 * Cell values of an export file, as text a spreadsheet cannot run.
 *
 * OWASP "CSV Injection": a spreadsheet treats a cell that starts with = + - @ (and, in some,
 * a tab or carriage return) as a formula, which can run commands or send data away when the
 * file is opened. Such a cell is prefixed with a single quote, which every spreadsheet shows
 * as text. A value that itself starts with a quote gets one too, so a reader gets every value
 * back exactly by dropping one leading quote (docs/api.md "Export files").
 */
export type Cell = string | number | null;

import { zoneOffsetAt } from '@depotline/shared';

const formulaStart = /^[=+\-@\t\r']/;

export function neutraliseCell(value: Cell): Cell {
  if (typeof value !== 'string') return value;
  return formulaStart.test(value) ? `'${value}` : value;
}

/** The original value of a neutralised text cell (what a reader of the file does). */
export function restoreCell(text: string): string {
  return text.startsWith("'") ? text.slice(1) : text;
}

/** The zone to write times in: the depot's, or UTC when the stored name is not one Node knows. */
export function usableTimeZone(timeZone: string): string {
  try {
    zoneOffsetAt(timeZone, 0);
    return timeZone;
  } catch {
    return 'UTC';
  }
}

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');

/**
 * ISO 8601 local time with the zone's offset at that instant, to the second:
 * `2026-11-22T09:30:00+01:00`. Readable by people and by every date parser.
 */
export function localIsoTime(ms: number, timeZone: string): string {
  const seconds = Math.floor(ms / 1000) * 1000;
  const offset = zoneOffsetAt(timeZone, seconds);
  const local = new Date(seconds + offset); // the depot's wall clock, read with the UTC getters
  const offsetMin = Math.round(offset / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  return `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${sign}${pad(Math.trunc(offsetMin / 60))}:${pad(offsetMin % 60)}`;
}
