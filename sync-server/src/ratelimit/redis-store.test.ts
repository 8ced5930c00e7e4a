import crypto from 'node:crypto';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { RateLimitStore } from './limits';
import { RedisRateLimitStore } from './redis-store';

/**
 * The Redis store against a real Redis (the one `npm test` starts: DEPOTLINE_TEST_REDIS_URL).
 * Two stores are two connections, as two server processes would hold; each test uses its own
 * key prefix, since the test Redis is shared by every test file.
 */

const redisUrl = process.env.DEPOTLINE_TEST_REDIS_URL;
const skipped = redisUrl ? '' : ' (SKIPPED: DEPOTLINE_TEST_REDIS_URL is not set; run through `npm test`, which starts a throwaway Redis)';

const silent = { error: () => {}, info: () => {}, debug: () => {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!redisUrl)(`rate-limit store in Redis${skipped}`, () => {
  const opened: RateLimitStore[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
  });
  const newPrefix = () => `test-${crypto.randomBytes(6).toString('hex')}:`;
  const twoProcesses = (prefix = newPrefix()) => {
    const stores = [0, 1].map(() => new RedisRateLimitStore({ url: redisUrl!, tlsCaFile: null }, prefix, silent));
    opened.push(...stores);
    return { a: stores[0]!, b: stores[1]!, prefix };
  };

  it('two connections share one budget per key', async () => {
    const { a, b } = twoProcesses();
    const spec = { name: 'api', points: 5, durationS: 60 };
    const states = [];
    for (let i = 0; i < 6; i++) states.push(await (i % 2 === 0 ? a : b).limiter(spec, 'per-process').consume('203.0.113.1'));
    expect(states.map((s) => s.allowed)).toEqual([true, true, true, true, true, false]);
    expect(states.map((s) => s.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    // Another key has its own budget.
    expect((await b.limiter(spec, 'per-process').consume('203.0.113.2')).remaining).toBe(4);
  });

  it('a refused request is told the truth: waiting the reset time is enough', async () => {
    const { a, b } = twoProcesses();
    const spec = { name: 'short', points: 2, durationS: 2 };
    await a.limiter(spec, 'per-process').consume('k');
    await b.limiter(spec, 'per-process').consume('k');
    const refused = await a.limiter(spec, 'per-process').consume('k');
    expect(refused.allowed).toBe(false);
    expect(refused.resetMs).toBeGreaterThan(0);
    expect(refused.resetMs).toBeLessThanOrEqual(2000);
    await sleep(refused.resetMs + 50);
    expect((await b.limiter(spec, 'per-process').consume('k')).allowed).toBe(true);
  });

  it('strikes sent to two processes at once all count, and a lock set by one is seen by the other', async () => {
    const { a, b } = twoProcesses();
    const spec = { name: 'strikes', ttlMs: 60_000, maxKeys: 10 };
    const counts = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).strikeRecords(spec).strike('ghost')));
    expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await a.strikeRecords(spec).lockUntil('ghost', 1_234_567);
    expect(await b.strikeRecords(spec).read('ghost')).toEqual({ strikes: 20, lockedUntil: 1_234_567 });
    expect(await b.strikeRecords(spec).read('nobody')).toEqual({ strikes: 0, lockedUntil: null });
  });
});

describe('rate-limit store with Redis unreachable', () => {
  it('insured limits count per process, refusing limits and strike records answer 503, and the outage is logged once without the URL', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as net.AddressInfo;
        s.close(() => resolve(p));
      });
    });
    const errors: { msg: string; fields?: Record<string, unknown> }[] = [];
    const log = { ...silent, error: (msg: string, fields?: Record<string, unknown>) => void errors.push({ msg, fields }) };
    const store = new RedisRateLimitStore({ url: `redis://:sekrit-password@127.0.0.1:${port}`, tlsCaFile: null }, 'down:', log);
    try {
      const api = store.limiter({ name: 'api', points: 2, durationS: 60 }, 'per-process');
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push((await api.consume('203.0.113.1')).allowed);
      expect(answers).toEqual([true, true, false]);

      const signIn = store.limiter({ name: 'sign-in', points: 30, durationS: 300 }, 'refuse');
      const refused = await signIn.consume('203.0.113.1').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ code: 'unavailable', status: 503 });
      expect((refused as AppError).extra.retryAfterS).toBeGreaterThan(0);
      const strikes = store.strikeRecords({ name: 'unknown', ttlMs: 60_000, maxKeys: 10 });
      await expect(strikes.read('ghost')).rejects.toMatchObject({ code: 'unavailable' });
      await expect(strikes.strike('ghost')).rejects.toMatchObject({ code: 'unavailable' });
      await expect(strikes.lockUntil('ghost', 1)).rejects.toMatchObject({ code: 'unavailable' });

      expect(errors.length).toBe(1);
      expect(errors[0]!.msg).toMatch(/Redis unreachable/);
      expect(JSON.stringify(errors)).not.toContain('sekrit');
    } finally {
      await store.close();
    }
  });
});
