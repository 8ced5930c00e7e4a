import type { Stop } from '@depotline/shared';
import { describe, expect, it } from 'vitest';
import { tables } from './entity-tables';

describe('stop rows', () => {
  const stop: Stop = {
    id: 's1', locationId: 'l1', routeId: 'r1', sequence: 0, customerName: 'A. Customer', phone: '+49 30 1234567', notes: '',
    window: { start: 1, end: 2 }, status: 'planned', eta: null, version: 3, updatedAt: 4, updatedBy: null,
    orderRef: null, parcelCount: 1, barcodes: [], minimumAge: null, idCheck: false, failureReason: null,
  };

  it('keep a redacted field hidden and a withheld one named, through the local table', () => {
    const withheld: Stop = { ...stop, withheld: ['address'] };
    expect(tables.stop.fromRow(tables.stop.toColumns(withheld))).toEqual(withheld);
  });

  it('keep the order: plain fields, coordinates, billing, and a failure reason, through the local table', () => {
    const order: Stop = {
      ...stop, address: '1 Road', orderRef: 'SO-1', parcelCount: 3, barcodes: ['A1', 'A2', 'A3'], coordinates: { lat: 52.5, lng: -13.25 },
      email: 'a@example.com', minimumAge: 18, idCheck: true, paymentRef: 'PAY-1', codAmount: 1999, deliveryFee: 0, currency: 'EUR',
      status: 'failed', failureReason: 'customer_absent', failureNote: 'rang twice', withheld: ['email'],
    };
    delete order.email;
    expect(tables.stop.fromRow(tables.stop.toColumns(order))).toEqual(order);
    const noBilling: Stop = { ...order };
    for (const f of ['paymentRef', 'codAmount', 'deliveryFee', 'currency'] as const) delete noBilling[f];
    expect(tables.stop.fromRow(tables.stop.toColumns(noBilling))).toEqual(noBilling);
  });

  it('read a stop without withheld fields exactly as before', () => {
    const row = tables.stop.toColumns(stop);
    expect(row.hidden_fields).toBe('["address","coordinates","email","failureNote","paymentRef","codAmount","deliveryFee","currency"]');
    expect(tables.stop.fromRow(row)).toEqual(stop);
  });
});
