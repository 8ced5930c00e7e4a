/**
 * Time windows are typed as wall-clock times where the depot is (a `datetime-local` value,
 * `YYYY-MM-DDTHH:MM`), whatever zone this computer is in, and stored as instants.
 */

const partFormatters = new Map<string, Intl.DateTimeFormat>();

interface WallClock { year: number; month: number; day: number; hour: number; minute: number; second: number }

function partsAt(at: number, timeZone: string): WallClock {
  let f = partFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    partFormatters.set(timeZone, f);
  }
  const parts = new Map(f.formatToParts(at).map((p) => [p.type, Number(p.value)]));
  const n = (type: Intl.DateTimeFormatPartTypes) => parts.get(type) ?? 0;
  return { year: n('year'), month: n('month'), day: n('day'), hour: n('hour'), minute: n('minute'), second: n('second') };
}

/** How far the zone's wall clock is ahead of UTC at an instant, in ms. */
function offsetAt(at: number, timeZone: string): number {
  const p = partsAt(at, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(at / 1000) * 1000;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** An instant as the depot's wall clock, for a `datetime-local` input. */
export function toZonedInput(at: number, timeZone: string): string {
  const p = partsAt(at, timeZone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/** A `datetime-local` value read as the depot's wall clock; null when it is not one. */
export function fromZonedInput(value: string, timeZone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  // The offset at the guess, then again at the result: right across a daylight-saving change.
  let at = wall - offsetAt(wall, timeZone);
  at = wall - offsetAt(at, timeZone);
  return at;
}

/** Today where the depot is, `YYYY-MM-DD`. */
export function todayIn(timeZone: string): string {
  return toZonedInput(Date.now(), timeZone).slice(0, 10);
}
