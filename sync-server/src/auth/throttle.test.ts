import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { MemoryRateLimitStore } from '../ratelimit/memory-store';
import { afterFailure, ipRateKey, isBlocked, type LockState, lockDurationAfter, lockedForS, LoginThrottle, refusedForS } from './throttle';

describe('progressive lockout rule', () => {
  it('locks every 5th consecutive failure, from 1 minute doubling to a cap of 1 hour', () => {
    const locks = Array.from({ length: 60 }, (_, i) => lockDurationAfter(i + 1)).map((s, i) => [i + 1, s] as const).filter(([, s]) => s !== null);
    expect(locks.slice(0, 8)).toEqual([[5, 60], [10, 120], [15, 240], [20, 480], [25, 960], [30, 1920], [35, 3600], [40, 3600]]);
    expect(lockDurationAfter(4)).toBeNull();
    expect(lockDurationAfter(0)).toBeNull();
  });

  it('blocks a bucket at the 100th consecutive failure, and says to wait the longest lock', () => {
    let state: LockState = { failedLogins: 0, lockedUntil: null };
    for (let i = 0; i < 99; i++) state = afterFailure(state, 0);
    expect(isBlocked(state)).toBe(false);
    state = afterFailure(state, 0);
    expect(state.failedLogins).toBe(100);
    expect(isBlocked(state)).toBe(true);
    // Blocked stays refused after every lock has run out.
    expect(refusedForS(state, 10 * 24 * 3600_000)).toBe(3600);
    expect(refusedForS({ failedLogins: 4, lockedUntil: null }, 0)).toBeNull();
  });

  it('reports the remaining lock in whole seconds, rounding up', () => {
    expect(lockedForS(10_500, 10_000)).toBe(1);
    expect(lockedForS(70_000, 10_001)).toBe(60);
    expect(lockedForS(10_000, 10_000)).toBeNull();
    expect(lockedForS(null, 0)).toBeNull();
  });
});

describe('rate-limit keys of client addresses', () => {
  it('keys IPv4 by address and IPv6 by its /64', () => {
    expect(ipRateKey('203.0.113.7')).toBe('203.0.113.7');
    expect(ipRateKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(ipRateKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipRateKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(ipRateKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipRateKey('::1')).toBe('0:0:0:0::/64');
    expect(ipRateKey(null)).toBe('unknown');
  });
});

describe('LoginThrottle', () => {
  it('limits attempts per address and says when to retry', async () => {
    const store = new MemoryRateLimitStore();
    const throttle = new LoginThrottle({ perIpPoints: 3, perIpWindowS: 60 });
    for (let i = 0; i < 3; i++) await throttle.consumeAttempt(store, '203.0.113.9');
    const err = await throttle.consumeAttempt(store, '203.0.113.9').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'rate_limited', status: 429 });
    expect((err as AppError).extra.retryAfterS).toBeGreaterThan(0);
    expect((err as AppError).extra.retryAfterS).toBeLessThanOrEqual(60);
    // A neighbour in the same IPv6 /64 shares the budget; another /64 does not.
    const v6 = new LoginThrottle({ name: 'v6', perIpPoints: 1 });
    await v6.consumeAttempt(store, '2001:db8:1:2::1');
    await expect(v6.consumeAttempt(store, '2001:db8:1:2::2')).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(v6.consumeAttempt(store, '2001:db8:1:3::1')).resolves.toBeUndefined();
  });

  it('keeps throttles with different names apart, and shares one name', async () => {
    const store = new MemoryRateLimitStore();
    const signIn = new LoginThrottle({ perIpPoints: 1 });
    await signIn.consumeAttempt(store, '203.0.113.9');
    await expect(new LoginThrottle({ perIpPoints: 1 }).consumeAttempt(store, '203.0.113.9')).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(new LoginThrottle({ name: 'password-completion', perIpPoints: 1 }).consumeAttempt(store, '203.0.113.9')).resolves.toBeUndefined();
  });

  it('tracks unknown usernames case-insensitively, in bounded memory', async () => {
    const store = new MemoryRateLimitStore();
    const throttle = new LoginThrottle({ maxTrackedUsernames: 3 });
    await throttle.recordUnknownUserFailure(store, 'Ghost', 0);
    expect((await throttle.unknownUserState(store, 'GHOST')).failedLogins).toBe(1);
    for (const name of ['a', 'b', 'c']) await throttle.recordUnknownUserFailure(store, name, 0);
    // The least recently failed name was dropped to stay within the bound.
    expect((await throttle.unknownUserState(store, 'ghost')).failedLogins).toBe(0);
    expect((await throttle.unknownUserState(store, 'c')).failedLogins).toBe(1);
  });

  it('locks an unknown username like an account: the 5th failure locks for a minute', async () => {
    const store = new MemoryRateLimitStore();
    const throttle = new LoginThrottle();
    let state: LockState = { failedLogins: 0, lockedUntil: null };
    for (let i = 0; i < 5; i++) state = await throttle.recordUnknownUserFailure(store, 'nobody', 1_000_000);
    expect(state).toEqual(afterFailure({ failedLogins: 4, lockedUntil: null }, 1_000_000));
    expect(await throttle.unknownUserState(store, 'NoBody')).toEqual({ failedLogins: 5, lockedUntil: 1_060_000 });
    // The 6th failure keeps the running lock.
    expect(await throttle.recordUnknownUserFailure(store, 'nobody', 1_030_000)).toEqual({ failedLogins: 6, lockedUntil: 1_060_000 });
  });
});
