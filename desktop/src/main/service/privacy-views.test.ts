import { describe, expect, it } from 'vitest';
import { bridgeCalls, type CustomerSearchResult, type PrivacyRequest } from '@depotline/shared';
import { countsText, registerOrder, toCustomerView, toRequestView } from './privacy-views';

const names = new Map([['north', 'North Depot']]);

const request = (over: Partial<PrivacyRequest> = {}): PrivacyRequest => ({
  id: 'dsr_1', kind: 'erasure', law: 'gdpr', locationIds: ['north'], status: 'open', receivedAt: 1_000, dueAt: 5_000, overdue: false,
  reference: 'TICKET-1', subject: { customerName: 'Kim Doe', phone: '+44 7700 900123', email: 'kim@example.com' }, subjectErasedAt: null,
  createdBy: 'ada', createdAt: 1_000, handledBy: 'ada', updatedAt: 2_000, closedAt: null, closeReason: null,
  actions: [{ action: 'erase', at: 2_000, by: 'ada', counts: { stopsErased: 1, stopsHeld: 1, proofsDestroyed: 0, somethingNew: 2 },
    holds: [{ holdId: 'h1', scope: 'stop', locationId: 'north', reason: 'claim', owner: 'Legal' }] }],
  ...over,
});

describe('the Privacy screen\'s views', () => {
  it('a request names its depots, says its steps in words (zero counts left out) and is editable only where the admin handles every depot it covers', () => {
    const view = toRequestView(request({ locationIds: ['north', 'south'] }), names, new Set(['north']));
    expect(view.locations).toEqual([{ id: 'north', name: 'North Depot' }, { id: 'south', name: null }]);
    expect(view.steps[0]!.counts).toBe('1 stop erased, 1 stop kept by a hold, something new: 2');
    expect(view.steps[0]!.holds).toEqual([{ scope: 'stop', location: { id: 'north', name: 'North Depot' }, reason: 'claim', owner: 'Legal' }]);
    expect(view.editable).toBe(false);
    expect(toRequestView(request(), names, new Set(['north'])).editable).toBe(true);
    expect(bridgeCalls.privacyRequests.result.safeParse([view]).success).toBe(true);
    expect(countsText(undefined)).toBe('');
  });

  it('an erased request keeps no subject, and the register lists open requests soonest due first, then closed ones newest first', () => {
    expect(toRequestView(request({ subject: null, subjectErasedAt: 3_000 }), names, new Set()).subject).toBeNull();
    const views = [
      request({ id: 'late', dueAt: 9_000 }), request({ id: 'closed-old', status: 'closed', closedAt: 10 }),
      request({ id: 'soon', dueAt: 2_000 }), request({ id: 'closed-new', status: 'closed', closedAt: 20 }),
    ].map((r) => toRequestView(r, names, new Set(['north'])));
    expect(views.sort(registerOrder).map((v) => v.id)).toEqual(['soon', 'late', 'closed-new', 'closed-old']);
  });

  it('a customer at one depot: only that depot\'s stops, newest first, the latest consent per purpose, the sharing flag there; an unknown status is not drawn', () => {
    const stop = (stopId: string, locationId: string, end: number, status = 'planned') => ({
      stopId, locationId, routeId: 'r1', orderRef: null, status, window: { start: end - 10, end }, customerName: 'Kim Doe', address: '1 Quay',
      phone: '+44 7700 900123', email: null, matched: ['phone' as const, 'phone' as const], pseudonymised: false,
    });
    const consent = (id: string, locationId: string, granted: boolean, recordedAt: number) => ({
      id, locationId, purpose: 'trackingSms' as const, granted, source: 'phone' as const, recordedAt, recordedBy: 'ada', matched: 'phone' as const,
    });
    const found: CustomerSearchResult = {
      stops: [stop('a', 'north', 100), stop('b', 'south', 300), stop('c', 'north', 200), stop('d', 'north', 400, 'teleported')],
      consents: [consent('c3', 'south', true, 30), consent('c2', 'north', false, 20), consent('c1', 'north', true, 10)],
      sharing: [{ locationId: 'south', doNotSell: true, updatedAt: 1, updatedBy: 'ada', matched: 'phone' }],
      truncated: false,
    };
    const view = toCustomerView(found, 'north', names, 1);
    expect(view.stops.map((s) => s.stopId)).toEqual(['c']);
    expect(view.truncated).toBe(true);
    expect(view.stops[0]!.matched).toEqual(['phone']);
    expect(view.consents).toEqual([{ purpose: 'trackingSms', granted: false, source: 'phone', recordedAt: 20, recordedBy: 'ada' }]);
    expect(view.doNotSell).toBe(false);
    expect(toCustomerView(found, 'south', names, 10).doNotSell).toBe(true);
    expect(bridgeCalls.searchCustomer.result.safeParse(view).success).toBe(true);
  });
});
