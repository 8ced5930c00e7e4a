/**
 * Wall-clock times in the depot's time zone (IANA name, e.g. `Europe/Berlin`) as epoch
 * milliseconds, with the zone rules of the runtime's Intl. A time that does not exist (the hour
 * skipped when clocks go forward) is refused; one that happens twice takes the first.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The zone's offset from UTC at that instant (to the second), in milliseconds. Throws a
 * RangeError for a zone name the runtime does not know.
 */
export function zoneOffsetAt(timeZone: string, at: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts['year']!, parts['month']! - 1, parts['day'], parts['hour'], parts['minute'], parts['second']);
  return asUtc - Math.floor(at / 1000) * 1000;
}

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/**
 * Answers already worked out: a file's windows repeat a handful of times of one day, and each
 * answer costs a few Intl calls. Bounded; cleared when full.
 */
const known = new Map<string, number | null>();

/** The instant a wall-clock time names in the zone; null when it does not exist there. */
export function depotTimeToEpoch(timeZone: string, t: WallClock): number | null {
  const key = `${timeZone}|${t.year}-${t.month}-${t.day} ${t.hour}:${t.minute}`;
  const cached = known.get(key);
  if (cached !== undefined) return cached;
  const at = computeEpoch(timeZone, t);
  if (known.size >= 10_000) known.clear();
  known.set(key, at);
  return at;
}

function computeEpoch(timeZone: string, t: WallClock): number | null {
  const naive = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);
  const check = new Date(naive);
  if (check.getUTCFullYear() !== t.year || check.getUTCMonth() !== t.month - 1 || check.getUTCDate() !== t.day || t.hour > 23 || t.minute > 59) return null;
  // Two guesses cover both sides of a change of offset; take the earliest that reads back right.
  const candidates = [naive - zoneOffsetAt(timeZone, naive - 86_400_000), naive - zoneOffsetAt(timeZone, naive + 86_400_000)].sort((a, b) => a - b);
  for (const c of candidates) {
    if (c + zoneOffsetAt(timeZone, c) === naive) return c;
  }
  return null;
}

/** `2026-12-01` -> its parts; null when it is not a calendar date. */
export function parseIsoDate(date: string): { year: number; month: number; day: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day ? { year, month, day } : null;
}

const days = new Map<string, string>();

/** The calendar day of an instant in the zone, `YYYY-MM-DD`. */
export function depotDateOf(timeZone: string, at: number): string {
  const key = `${timeZone}|${at}`;
  let day = days.get(key);
  if (day === undefined) {
    day = new Date(at + zoneOffsetAt(timeZone, at)).toISOString().slice(0, 10);
    if (days.size >= 10_000) days.clear();
    days.set(key, day);
  }
  return day;
}
