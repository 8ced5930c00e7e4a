import { describe, expect, it } from 'vitest';
import { bridgeCalls } from './index';

describe('the planning bridge contract', () => {
  it('a stop editor change names only order fields, and something must change', () => {
    const args = bridgeCalls.updateStop.args;
    expect(args.safeParse({ stopId: 's1', changes: { parcelCount: 2 } }).success).toBe(true);
    expect(args.safeParse({ stopId: 's1', changes: {} }).success).toBe(false);
    // A field the editor does not set (status, the stop's version) is refused, not ignored.
    expect(args.safeParse({ stopId: 's1', changes: { status: 'delivered' } }).success).toBe(false);
    expect(args.safeParse({ stopId: 's1', changes: { window: { start: 10, end: 5 } } }).error?.issues[0]?.message).toMatch(/ends after it starts/);
    expect(args.safeParse({ stopId: 's1', changes: { coordinates: { lat: 95, lng: 0 } } }).success).toBe(false);
  });

  it('a new stop needs a customer, an address and a window', () => {
    const args = bridgeCalls.createStop.args;
    expect(args.safeParse({ routeId: 'r1', order: { customerName: 'Ada', address: '1 Quay' } }).success).toBe(false);
    expect(args.safeParse({ routeId: 'r1', order: { customerName: 'Ada', address: '1 Quay', window: { start: 1, end: 2 } } }).success).toBe(true);
  });

  it('a crew assignment chooses a driver or a vehicle, for at most 500 routes', () => {
    const args = bridgeCalls.assignRoutes.args;
    expect(args.safeParse({ routeIds: ['r1'] }).success).toBe(false);
    expect(args.safeParse({ routeIds: ['r1'], vehicleId: null }).success).toBe(true);
    expect(args.safeParse({ routeIds: Array.from({ length: 501 }, (_, i) => `r${i}`), driverId: null }).success).toBe(false);
  });

  it('names are trimmed and required', () => {
    expect(bridgeCalls.createRoute.args.safeParse({ locationId: 'd', name: '   ', date: '2026-12-01' }).success).toBe(false);
    expect(bridgeCalls.createDriver.args.parse({ locationId: 'd', name: '  Dana ' }).name).toBe('Dana');
  });
});
