import { describe, expect, it } from 'vitest';
import { dateInZone, isCalendarDate, isKnownTimeZone, shiftDate } from './zoned-date';

describe("the depot's calendar day", () => {
  it("is the depot's day, not UTC's: late evening west of Greenwich, early morning east of it", () => {
    // 2026-03-10 06:30 UTC is still the 9th in Los Angeles, already the 10th in Auckland (19:30).
    const t = Date.UTC(2026, 2, 10, 6, 30);
    expect(dateInZone(t, 'America/Los_Angeles')).toBe('2026-03-09');
    expect(dateInZone(t, 'UTC')).toBe('2026-03-10');
    expect(dateInZone(t, 'Pacific/Auckland')).toBe('2026-03-10');
    // 11:30 UTC is 00:30 on the 11th in Auckland (NZDT, UTC+13).
    expect(dateInZone(Date.UTC(2026, 2, 10, 11, 30), 'Pacific/Auckland')).toBe('2026-03-11');
  });

  it('turns at local midnight exactly, on both sides of a daylight-saving change', () => {
    // Berlin, spring forward on 2026-03-29 (02:00 -> 03:00): midnight is 23:00 UTC the day before (CET).
    expect(dateInZone(Date.UTC(2026, 2, 28, 22, 59, 59, 999), 'Europe/Berlin')).toBe('2026-03-28');
    expect(dateInZone(Date.UTC(2026, 2, 28, 23, 0), 'Europe/Berlin')).toBe('2026-03-29');
    // The short day ends at 22:00 UTC (CEST): the next day starts then, not an hour later.
    expect(dateInZone(Date.UTC(2026, 2, 29, 21, 59, 59, 999), 'Europe/Berlin')).toBe('2026-03-29');
    expect(dateInZone(Date.UTC(2026, 2, 29, 22, 0), 'Europe/Berlin')).toBe('2026-03-30');
    // Autumn back on 2026-10-25 (03:00 -> 02:00): the long day ends at 23:00 UTC (CET).
    expect(dateInZone(Date.UTC(2026, 9, 25, 22, 59), 'Europe/Berlin')).toBe('2026-10-25');
    expect(dateInZone(Date.UTC(2026, 9, 25, 23, 0), 'Europe/Berlin')).toBe('2026-10-26');
    // New York springs forward at 02:00 local on 2026-03-08; 04:59 UTC is 23:59 EST on the 7th.
    expect(dateInZone(Date.UTC(2026, 2, 8, 4, 59), 'America/New_York')).toBe('2026-03-07');
    expect(dateInZone(Date.UTC(2026, 2, 8, 5, 0), 'America/New_York')).toBe('2026-03-08');
  });

  it('falls back to UTC for a zone the runtime does not know, instead of failing', () => {
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isKnownTimeZone('Europe/London')).toBe(true);
    expect(dateInZone(Date.UTC(2026, 0, 1, 23, 30), 'Mars/Olympus_Mons')).toBe('2026-01-01');
  });

  it('steps whole calendar days across DST, month, year and leap day', () => {
    expect(shiftDate('2026-03-28', 1)).toBe('2026-03-29');
    expect(shiftDate('2026-03-29', 1)).toBe('2026-03-30');
    expect(shiftDate('2026-10-25', -1)).toBe('2026-10-24');
    expect(shiftDate('2026-12-31', 1)).toBe('2027-01-01');
    expect(shiftDate('2028-02-28', 1)).toBe('2028-02-29');
    expect(shiftDate('2028-03-01', -1)).toBe('2028-02-29');
    expect(shiftDate('2026-03-10', 0)).toBe('2026-03-10');
  });

  it('knows real calendar days from look-alikes', () => {
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2026-13-01')).toBe(false);
    expect(isCalendarDate('2026-3-1')).toBe(false);
    expect(() => shiftDate('2026-02-30', 1)).toThrow(RangeError);
  });
});
