import { describe, expect, it } from 'vitest';
import { bridgeCallNames, bridgeCalls, bridgeChannel, bridgeEvents, ConsoleState, StopDetailView, SignInArgs } from './index';

describe('bridge contract', () => {
  it('has one args and one result schema per call, and one channel each', () => {
    expect(bridgeCallNames.length).toBeGreaterThan(10);
    for (const name of bridgeCallNames) {
      expect(bridgeCalls[name].args, name).toBeDefined();
      expect(bridgeCalls[name].result, name).toBeDefined();
    }
    expect(new Set(bridgeCallNames.map(bridgeChannel)).size).toBe(bridgeCallNames.length);
    expect(bridgeChannel('signIn')).toBe('depotline:signIn');
    expect(Object.keys(bridgeEvents).sort()).toEqual(['dataChanged', 'notice', 'state', 'syncStatus']);
  });

  it('arguments are strict: unknown fields are refused, not ignored', () => {
    expect(SignInArgs.safeParse({ username: 'dora', password: 'pw' }).success).toBe(true);
    expect(SignInArgs.safeParse({ username: 'dora', password: 'pw', isAdmin: true }).success).toBe(false);
    expect(SignInArgs.safeParse({ username: 'dora', password: 'pw', totp: '12345' }).success).toBe(false);
    expect(bridgeCalls.lock.args.safeParse({ force: true }).success).toBe(false);
    expect(bridgeCalls.listStops.args.safeParse({ locationId: '../etc', routeId: null }).success).toBe(false);
  });

  it('results carry only declared fields: anything else is dropped on the way out', () => {
    const state = ConsoleState.parse({ screen: 'console', user: { id: 'u1', username: 'dora', displayName: 'Dora', refreshToken: 'x' }, idleLockMs: 1, accessToken: 'y' });
    expect(JSON.stringify(state)).not.toMatch(/refreshToken|accessToken/);
    const detail = StopDetailView.parse({
      stop: { id: 's1', locationId: 'a', routeId: 'r', sequence: 0, window: { start: 1, end: 2 }, status: 'planned', eta: null, updatedAt: 1, updatedBy: null, secret: 'k' },
      routeName: null, driverName: null, allowedTransitions: [], notesVisible: false, canEditNotes: false, pendingEdits: 0,
    });
    expect('secret' in detail.stop).toBe(false);
    expect(ConsoleState.safeParse({ screen: 'debug' }).success).toBe(false);
  });
});
