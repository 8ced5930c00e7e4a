import { defaultDataProfile, IntegrationStopView, type ProfileField, profileFields, type Stop } from '@depotline/shared';
import { describe, expect, it } from 'vitest';
import { presentStopForIntegration, sharedProfile, type StopSharing } from './profile-filter';

/** A customer who has not opted out of sharing. */
const open: StopSharing = { doNotSell: false, deliversStop: false };

/** A stop whose every customer value is a string found nowhere else, so a leak cannot hide. */
const stop: Stop = {
  id: 'stop-1', locationId: 'depot-a', routeId: 'route-1', sequence: 0,
  customerName: 'Zelda Uniquename', address: '77 Leakcheck Lane', phone: '+49 30 99887766', email: 'zelda.unique@example.com',
  notes: 'NOTE-dog-bites-7731', failureNote: 'FAILNOTE-gate-locked-5521', orderRef: 'SO-42', parcelCount: 2, barcodes: ['BC-1', 'BC-2'],
  coordinates: { lat: 52.123456, lng: 13.654321 }, minimumAge: 18, idCheck: true, paymentRef: 'PAYREF-XK-9981', codAmount: 123457, deliveryFee: 98765,
  currency: 'SEK', failureReason: 'customer_absent', window: { start: 1_000, end: 2_000 }, status: 'failed', eta: 1_500,
  version: 4, updatedAt: 3_000, updatedBy: 'dispatcher-x',
};
const secrets = ['Zelda', 'Leakcheck', '99887766', 'zelda.unique', 'NOTE-dog', 'FAILNOTE', 'PAYREF', '123457', '98765', 'SEK', 'dispatcher-x'];

describe('the integration profile filter', () => {
  it('the default profile never carries name, phone, email, notes or billing', () => {
    const view = presentStopForIntegration(defaultDataProfile, stop, open);
    const text = JSON.stringify(view);
    for (const s of ['Zelda', '99887766', 'zelda.unique', 'NOTE-dog', 'FAILNOTE', 'PAYREF', '123457', '98765', 'SEK']) expect(text).not.toContain(s);
    expect(view).toEqual({
      id: 'stop-1', locationId: 'depot-a', updatedAt: 3_000, orderRef: 'SO-42', parcelCount: 2, barcodes: ['BC-1', 'BC-2'], minimumAge: 18, idCheck: true, pinRequired: false,
      status: 'failed', timeWindow: { start: 1_000, end: 2_000 }, address: '77 Leakcheck Lane', coordinates: { lat: 52.123456, lng: 13.654321 },
    });
    expect(IntegrationStopView.safeParse(view).success).toBe(true);
  });

  it('fields outside the profile are absent, not null; the route, sequence and editor never leave', () => {
    const view = presentStopForIntegration(['status'], stop, open);
    expect(Object.keys(view).sort()).toEqual(['id', 'locationId', 'status', 'updatedAt']);
    const empty = presentStopForIntegration([], stop, open);
    expect(empty).toEqual({ id: 'stop-1', locationId: 'depot-a', updatedAt: 3_000 });
    for (const s of secrets) expect(JSON.stringify(empty)).not.toContain(s);
    const all = presentStopForIntegration(profileFields, stop, open);
    for (const k of ['routeId', 'sequence', 'updatedBy', 'version', 'window']) expect(all).not.toHaveProperty(k);
    expect(JSON.stringify(all)).not.toContain('dispatcher-x');
  });

  it('each field appears with its own profile field and with no other', () => {
    const carries: Record<ProfileField, string[]> = {
      orderRef: ['SO-42'], status: ['"failed"'], timeWindow: ['"start":1000'], address: ['Leakcheck', '52.123456'], eta: ['"eta":1500'],
      failureReason: ['customer_absent'], customerName: ['Zelda'], phone: ['99887766'], email: ['zelda.unique'],
      notes: ['NOTE-dog', 'FAILNOTE'], billing: ['PAYREF', '123457', '98765', 'SEK'],
    };
    for (const field of profileFields) {
      const text = JSON.stringify(presentStopForIntegration([field], stop, open));
      for (const [other, values] of Object.entries(carries)) {
        for (const v of values) expect(text.includes(v), `${v} with profile [${field}]`).toBe(other === field);
      }
    }
  });

  it('a value the server could not verify is left out and named only to a profile that has its field', () => {
    const tampered: Stop = { ...stop, withheld: ['phone', 'notes'] };
    delete tampered.phone;
    delete tampered.notes;
    expect(presentStopForIntegration(defaultDataProfile, tampered, open)).not.toHaveProperty('withheld');
    expect(presentStopForIntegration(['phone', 'email'], tampered, open)).toMatchObject({ withheld: ['phone'], email: 'zelda.unique@example.com' });
    expect(presentStopForIntegration(['phone'], tampered, open)).not.toHaveProperty('phone');
  });

  it('a do-not-sell customer\'s identity and contact details reach only an integration needed to deliver the stop', () => {
    const optedOut: StopSharing = { doNotSell: true, deliversStop: false };
    const view = JSON.stringify(presentStopForIntegration(profileFields, stop, optedOut));
    for (const s of ['Zelda', 'Leakcheck', '52.123456', '99887766', 'zelda.unique', 'NOTE-dog', 'FAILNOTE']) expect(view).not.toContain(s);
    // What the delivery's business needs stays: the order, its status and window, billing.
    for (const s of ['SO-42', '"failed"', 'PAYREF']) expect(view).toContain(s);
    const courier = JSON.stringify(presentStopForIntegration(profileFields, stop, { doNotSell: true, deliversStop: true }));
    for (const s of ['Zelda', 'Leakcheck', '99887766', 'zelda.unique']) expect(courier).toContain(s);
    expect(sharedProfile(['status', 'phone'], optedOut)).toEqual(['status']);
    expect(sharedProfile(['status', 'phone'], open)).toEqual(['status', 'phone']);
  });
});
