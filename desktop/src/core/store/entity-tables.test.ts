import type { Stop } from '@depotline/shared';
import { describe, expect, it } from 'vitest';
import { tables } from './entity-tables';

describe('stop rows', () => {
  const stop: Stop = {
    id: 's1', locationId: 'l1', routeId: 'r1', sequence: 0, customerName: 'A. Customer', phone: '+49 30 1234567', notes: '',
    window: { start: 1, end: 2 }, status: 'planned', eta: null, version: 3, updatedAt: 4, updatedBy: null,
  };

  it('keep a redacted field hidden and a withheld one named, through the local table', () => {
    const withheld: Stop = { ...stop, withheld: ['address'] };
    expect(tables.stop.fromRow(tables.stop.toColumns(withheld))).toEqual(withheld);
  });

  it('read a stop without withheld fields exactly as before', () => {
    const row = tables.stop.toColumns(stop);
    expect(row.hidden_fields).toBe('["address"]');
    expect(tables.stop.fromRow(row)).toEqual(stop);
  });
});
