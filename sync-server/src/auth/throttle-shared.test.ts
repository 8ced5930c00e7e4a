import crypto from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { RedisRateLimitStore } from '../ratelimit/redis-store';
import { LoginThrottle } from './throttle';

/**
 * The sign-in throttle on the Redis store (the Redis `npm test` starts): two stores are two
 * connections, as two server processes hold them. The end-to-end version with two real server
 * processes is test/shared-rate-limits.test.ts.
 */

const redisUrl = process.env.DEPOTLINE_TEST_REDIS_URL;
const skipped = redisUrl ? '' : ' (SKIPPED: DEPOTLINE_TEST_REDIS_URL is not set; run through `npm test`, which starts a throwaway Redis)';
const silent = { error: () => {}, info: () => {}, debug: () => {} };

describe.skipIf(!redisUrl)(`sign-in throttle shared through Redis${skipped}`, () => {
  const prefix = `test-${crypto.randomBytes(6).toString('hex')}:`;
  const a = new RedisRateLimitStore({ url: redisUrl ?? '', tlsCaFile: null }, prefix, silent);
  const b = new RedisRateLimitStore({ url: redisUrl ?? '', tlsCaFile: null }, prefix, silent);
  const raw = new Redis(redisUrl ?? '', { lazyConnect: true });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    if (raw.status !== 'wait') await raw.quit();
  });

  it('an unknown username locks across processes, one per-address budget holds for both, and Redis holds no typed name', async () => {
    const throttle = new LoginThrottle();
    const typed = `Hunter2-${crypto.randomBytes(4).toString('hex')}`; // a password typed into the username field
    for (let i = 0; i < 5; i++) await throttle.recordUnknownUserFailure(i % 2 === 0 ? a : b, typed, 1_000_000);
    expect(await throttle.unknownUserState(b, typed.toUpperCase())).toEqual({ failedLogins: 5, lockedUntil: 1_060_000 });

    const small = new LoginThrottle({ name: 'small', perIpPoints: 2 });
    await small.consumeAttempt(a, '198.51.100.7');
    await small.consumeAttempt(b, '198.51.100.7');
    const refused = await small.consumeAttempt(a, '198.51.100.7').catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'rate_limited', status: 429 });
    expect((refused as AppError).extra.retryAfterS).toBeLessThanOrEqual(300);

    await raw.connect();
    const keys = await raw.keys(`${prefix}*`);
    expect(keys.length).toBe(2); // the unknown name's record, the address counter
    expect(keys.join(' ').toLowerCase()).not.toContain(typed.toLowerCase());
    for (const key of keys) expect(await raw.pttl(key)).toBeGreaterThan(0); // everything expires by itself
  });
});

describe('sign-in throttle with Redis unreachable', () => {
  it('refuses sign-in with 503 and Retry-After rather than counting per process', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as net.AddressInfo;
        s.close(() => resolve(p));
      });
    });
    const store = new RedisRateLimitStore({ url: `redis://127.0.0.1:${port}`, tlsCaFile: null }, 'down:', silent);
    try {
      const throttle = new LoginThrottle();
      const refused = await throttle.consumeAttempt(store, '203.0.113.1').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ code: 'unavailable', status: 503 });
      expect((refused as AppError).extra.retryAfterS).toBeGreaterThan(0);
      await expect(throttle.unknownUserState(store, 'ghost')).rejects.toMatchObject({ code: 'unavailable' });
      await expect(throttle.recordUnknownUserFailure(store, 'ghost', 0)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await store.close();
    }
  });
});
