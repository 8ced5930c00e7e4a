import { isCalendarDate, shiftDate } from '@depotline/shared';

const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC' });

/** "Today", "Tomorrow", "Yesterday", or the weekday and date of a `YYYY-MM-DD` day. */
export function dayLabel(date: string, today: string | null): string {
  if (today !== null) {
    if (date === today) return 'Today';
    if (date === shiftDate(today, 1)) return 'Tomorrow';
    if (date === shiftDate(today, -1)) return 'Yesterday';
  }
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return weekdayFormat.format(Date.UTC(y, m - 1, d));
}

/**
 * The board's day, in the depot's calendar: previous and next day, the date itself (the
 * browser's date field: type, arrows and its calendar all work from the keyboard) and back to
 * the depot's today. `null` means "today", so the board moves on at the depot's midnight.
 */
export function DatePicker({ date, today, timeZone, onChange }: {
  date: string;
  today: string | null;
  timeZone: string;
  onChange: (date: string | null) => void;
}) {
  const pick = (value: string) => onChange(value === today ? null : value);
  return (
    <div className="date-picker" role="group" aria-label="Day shown on the board">
      <button type="button" className="date-step" aria-label="Previous day" title="Previous day" onClick={() => pick(shiftDate(date, -1))} data-testid="date-previous">‹</button>
      <input
        type="date" className="date-input" aria-label="Day" data-testid="board-date" value={date} required
        onChange={(e) => { if (isCalendarDate(e.target.value)) pick(e.target.value); }}
      />
      <button type="button" className="date-step" aria-label="Next day" title="Next day" onClick={() => pick(shiftDate(date, 1))} data-testid="date-next">›</button>
      <button type="button" className="date-today" onClick={() => onChange(null)} disabled={date === today} data-testid="date-today">Today</button>
      <span className="date-label" data-testid="date-label" title={`Days are the depot's (${timeZone})`}>{dayLabel(date, today)}</span>
    </div>
  );
}
