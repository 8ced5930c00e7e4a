/**
 * An end of access as an administrator writes it (a CLI flag, a CSV cell): a full ISO 8601 time
 * with a zone (`2026-12-31T18:00:00Z`, `...+01:00`) is taken as given; a date alone
 * (`2026-12-31`) means the end of that day in UTC, so access lasts through the day named. A time
 * without a zone is ambiguous and refused. The message names no field: the caller says where.
 */
export function readExpiry(value: string): { ok: true; at: number } | { ok: false; message: string } {
  const text = value.trim();
  const dateOnly = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (dateOnly) {
    const [y, m, d] = [Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3])];
    const start = Date.UTC(y, m - 1, d);
    const check = new Date(start);
    if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
      return { ok: false, message: `${text} is not a calendar date` };
    }
    return { ok: true, at: start + 86_400_000 - 1 };
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    return { ok: false, message: `use an ISO 8601 date (2026-12-31) or a time with a zone (2026-12-31T18:00:00Z), got "${value}"` };
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) return { ok: false, message: `${text} is not a valid time` };
  return { ok: true, at };
}
