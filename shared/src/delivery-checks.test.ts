import { describe, expect, it } from 'vitest';
import { DeliveryCheckInput, missingForDelivery, noHandover, PinAttempt, requiredCheck } from './delivery-checks';
import { readCsvOrderFile, suggestColumnMapping, validateOrderRows } from './order-import/index';

const ascii = (text: string) => Uint8Array.from([...text].map((c) => c.charCodeAt(0)));

describe('delivery checks contract', () => {
  it('what is missing before delivery, in plain words; an age check covers an ID check', () => {
    const base = { pinRequired: false, minimumAge: null, idCheck: false, handover: noHandover };
    expect(missingForDelivery(base)).toEqual([]);
    expect(missingForDelivery({ ...base, pinRequired: true })).toEqual(['The customer\u2019s delivery PIN has not been verified.']);
    expect(missingForDelivery({ ...base, pinRequired: true, handover: { ...noHandover, pinLocked: true } })[0]).toMatch(/locked/);
    expect(missingForDelivery({ ...base, minimumAge: 18, idCheck: true })).toEqual(['No passing age check (18+) is recorded.']);
    expect(missingForDelivery({ ...base, idCheck: true, handover: { ...noHandover, checkPassed: true } })).toEqual([]);
    expect(missingForDelivery({ minimumAge: null, idCheck: false })).toEqual([]);
    expect(requiredCheck({ minimumAge: 16, idCheck: true })).toBe('age');
  });

  it('check input is strict: no document number, date of birth or name; a pass over the age needs overThreshold', () => {
    const ok = { kind: 'age', documentType: 'passport', result: 'pass', overThreshold: true };
    expect(DeliveryCheckInput.safeParse(ok).success).toBe(true);
    for (const extra of [{ documentNumber: 'X123' }, { dateOfBirth: '2001-01-01' }, { birthDate: 1 }, { name: 'A' }, { age: 19 }]) {
      expect(DeliveryCheckInput.safeParse({ ...ok, ...extra }).success).toBe(false);
      expect(DeliveryCheckInput.safeParse({ kind: 'id', documentType: 'id_card', result: 'pass', ...extra }).success).toBe(false);
    }
    expect(DeliveryCheckInput.safeParse({ ...ok, overThreshold: false }).success).toBe(false);
    expect(DeliveryCheckInput.safeParse({ ...ok, result: 'fail', overThreshold: false }).success).toBe(true);
    expect(DeliveryCheckInput.safeParse({ kind: 'id', documentType: 'id_card', result: 'pass', overThreshold: true }).success).toBe(false);
    expect(PinAttempt.safeParse({ pin: '012345' }).success).toBe(true);
    for (const pin of ['12345', '1234567', '12 345', '١٢٣٤٥٦', 123456]) expect(PinAttempt.safeParse({ pin }).success).toBe(false);
  });

  it('an order file says whether a stop needs a delivery PIN (column suggested from its header)', () => {
    const header = 'order,customer,address,route,delivery pin';
    const read = readCsvOrderFile(ascii([header, 'A-1,Ann,1 Road,R1,yes', 'A-2,Bo,2 Road,R1,no', 'A-3,Cy,3 Road,R1,'].join('\n')));
    if (!read.ok) throw new Error(read.message);
    const mapping = suggestColumnMapping(header.split(','));
    expect(mapping.pinRequired).toBe('delivery pin');
    const v = validateOrderRows(read.sheet, mapping, { date: '2026-12-01', timeZone: 'Europe/Berlin', currency: 'EUR', mayImportBilling: false });
    if (!v.ok) throw new Error(v.problems.join('\n'));
    expect(v.rows.map((r) => r.order?.pinRequired)).toEqual([true, false, false]);
  });
});
