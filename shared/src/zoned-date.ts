/**
 * Calendar days in a depot's own time zone. A route's `date` is a `YYYY-MM-DD` day where the
 * depot is, so "today" on the board is the depot's today, not the computer's: a dispatcher in
 * another zone (or a laptop on UTC) still sees the depot's day. Days are whole calendar days;
 * stepping a day is calendar arithmetic, so a day of 23 or 25 hours (daylight saving) is still
 * one day.
 */

const dayFormatters = new Map<string, Intl.DateTimeFormat>();

function dayFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = dayFormatters.get(timeZone);
  if (!f) {
    // en-CA formats a date as YYYY-MM-DD; the zone must be a real IANA name (RangeError otherwise).
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormatters.set(timeZone, f);
  }
  return f;
}

/** Whether the runtime knows this IANA time zone. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    dayFormatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The calendar day at an instant in a time zone, `YYYY-MM-DD`. A zone the runtime does not
 * know falls back to UTC rather than failing the board.
 */
export function dateInZone(at: number, timeZone: string): string {
  const f = isKnownTimeZone(timeZone) ? dayFormatter(timeZone) : dayFormatter('UTC');
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts['year']}-${parts['month']}-${parts['day']}`;
}

/** Whether a string is a real calendar day `YYYY-MM-DD` (not 2026-02-30). */
export function isCalendarDate(date: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** The day `days` calendar days after (or before, negative) a `YYYY-MM-DD` day. */
export function shiftDate(date: string, days: number): string {
  if (!isCalendarDate(date)) throw new RangeError(`not a calendar date: ${date}`);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d + Math.trunc(days)));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}
