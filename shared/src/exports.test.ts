import { describe, expect, it } from 'vitest';
import { exportColumns, exportColumnsFor, ExportStopsQuery, exportRangeDays, exportRangeDaysCeiling } from './exports';

const issues = (q: unknown) => {
  const r = ExportStopsQuery.safeParse(q);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('export request contract', () => {
  it('reads classes from a comma list, once each, and defaults to csv and operational', () => {
    expect(ExportStopsQuery.parse({ from: '2026-03-01', to: '2026-03-01' })).toEqual({ from: '2026-03-01', to: '2026-03-01', format: 'csv', classes: ['operational'] });
    expect(ExportStopsQuery.parse({ from: '2026-03-01', to: '2026-03-02', format: 'xlsx', classes: 'customer,operational,customer' }).classes).toEqual(['operational', 'customer']);
  });

  it('names each absurd input: unknown class, impossible date, reversed or endless range, extra fields', () => {
    expect(issues({ from: '2026-03-01', to: '2026-03-01', classes: 'invoices' })).toEqual(['classes: data classes are operational, customer, billing (comma-separated)']);
    expect(issues({ from: '2026-02-30', to: '2026-03-01' })).toContain('from: not a calendar date');
    expect(issues({ from: '2026-03-01', to: '2026-02-01' })).toEqual(['to: "to" is before "from"']);
    expect(issues({ from: '2000-01-01', to: '2026-01-01' })).toEqual([`to: a range covers at most ${exportRangeDaysCeiling} days`]);
    expect(issues({ from: '2026-03-01', to: '2026-03-01', format: 'pdf' })).toHaveLength(1);
    expect(issues({ from: '2026-03-01', to: '2026-03-01', sql: '1' })).toHaveLength(1);
    expect(issues({ from: ['2026-03-01', '2026-03-02'], to: '2026-03-03' })).toHaveLength(1);
  });

  it('counts days inclusively, across a leap day', () => {
    expect(exportRangeDays('2028-02-28', '2028-03-01')).toBe(3);
    expect(exportRangeDays('2026-03-01', '2026-03-01')).toBe(1);
  });

  it('keeps key columns with any class and customer columns only with the customer class', () => {
    const keys = (cs: Parameters<typeof exportColumnsFor>[0]) => exportColumnsFor(cs).map((c) => c.key);
    expect(keys(['operational'])).not.toContain('phone');
    expect(keys(['customer'])).toEqual([
      'route_date', 'route_id', 'stop_id', 'customer_name', 'address', 'phone', 'latitude', 'longitude', 'email', 'notes', 'failure_note', 'withheld',
    ]);
    expect(keys(['billing'])).toEqual(['route_date', 'route_id', 'stop_id', 'payment_ref', 'cod_amount_minor', 'delivery_fee_minor', 'currency']);
    expect(keys(['operational'])).toEqual(expect.arrayContaining(['order_ref', 'parcel_count', 'barcodes', 'minimum_age', 'id_check', 'failure_reason']));
    expect(keys(['operational', 'customer', 'billing'])).toEqual(exportColumns.map((c) => c.key));
    expect(new Set(exportColumns.map((c) => c.key)).size).toBe(exportColumns.length);
  });
});
