import { describe, expect, it } from 'vitest';
import { localIsoTime, neutraliseCell, restoreCell, usableTimeZone } from './cells';
import { encodeCsv } from './encode';

describe('export cells', () => {
  it('prefixes every cell a spreadsheet would read as a formula (OWASP CSV injection), and nothing else', () => {
    for (const hostile of ['=1+1', '+49 30 1234', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd', "'=1+1"]) {
      expect(neutraliseCell(hostile)).toBe(`'${hostile}`);
      expect(restoreCell(neutraliseCell(hostile) as string)).toBe(hostile);
    }
    for (const harmless of ['Ada', '1 Road', ' =not first', '', 'a=b']) expect(neutraliseCell(harmless)).toBe(harmless);
    expect(neutraliseCell(-1)).toBe(-1);
    expect(neutraliseCell(null)).toBeNull();
  });

  it('writes RFC 4180 CSV: quotes, commas and line breaks quoted, a BOM, CRLF rows', () => {
    const csv = encodeCsv({ header: [['Exported by', '=evil (Eve)']], columns: ['a', 'b'], rows: [['x,y', 'say "hi"\r\nbye'], [null, 3]] }).toString('utf8');
    expect(csv).toBe('\uFEFFExported by,\'=evil (Eve)\r\n\r\na,b\r\n"x,y","say ""hi""\r\nbye"\r\n,3\r\n');
  });

  it('writes times in the depot zone with the offset in force at that instant', () => {
    expect(localIsoTime(Date.UTC(2026, 0, 15, 8, 0, 0), 'Europe/Berlin')).toBe('2026-01-15T09:00:00+01:00');
    expect(localIsoTime(Date.UTC(2026, 6, 15, 8, 0, 0, 999), 'Europe/Berlin')).toBe('2026-07-15T10:00:00+02:00');
    expect(localIsoTime(Date.UTC(2026, 6, 15, 3, 0, 0), 'America/St_Johns')).toBe('2026-07-15T00:30:00-02:30');
    expect(localIsoTime(Date.UTC(2026, 6, 15, 23, 59, 59), 'UTC')).toBe('2026-07-15T23:59:59+00:00');
    expect(usableTimeZone('Mars/Olympus')).toBe('UTC');
  });
});
