/**
 * Two real server processes (`src/main.ts`, as an operator runs it) on one database and one
 * Redis: requests alternated between them meet one budget, and an unknown username that fails
 * at both is locked at both. Redis is the one `npm test` starts (DEPOTLINE_TEST_REDIS_URL).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess, stopServerProcess, waitForServer } from './cluster';
import { backends, createTestEnv, type TestEnv } from './harness';

const redisUrl = process.env.DEPOTLINE_TEST_REDIS_URL;
const skipped = redisUrl ? '' : ' (SKIPPED: DEPOTLINE_TEST_REDIS_URL is not set; run through `npm test`, which starts a throwaway Redis)';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { error?: { code: string; retryAfterS?: number } } | null;
}

/** One request from a chosen loopback source address (127.0.0.0/8 all reaches the server). */
function request(baseUrl: string, method: string, apiPath: string, opts: { from?: string; token?: string; body?: unknown } = {}): Promise<Answer> {
  const url = new URL(`/api/v1${apiPath}`, baseUrl);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method, localAddress: opts.from ?? '127.0.0.1',
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) as Answer['body'] : null }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const remainingOf = (answer: Answer, policy: string) => {
  const item = String(answer.headers.ratelimit).split(', ').find((i) => i.startsWith(`"${policy}"`));
  return item ? Number(/;r=(\d+)/.exec(item)![1]) : null;
};

describe.skipIf(!redisUrl).each(backends)(`two server processes share rate limits through one Redis (%s)${skipped}`, (backend) => {
  let env: TestEnv | null = null;
  const running: ServerProcess[] = [];
  afterEach(async () => {
    for (const s of running.splice(0)) await stopServerProcess(s);
    await env?.dispose();
    env = null;
  });

  it('requests alternated between the processes hit 429 at the shared budget; an unknown username locks at both', async () => {
    env = await createTestEnv(backend);
    const prefix = `test-${crypto.randomBytes(6).toString('hex')}:`;
    const settings = {
      REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_PER_ADDRESS_PER_MIN: '20', RATE_LIMIT_PER_USER_TOKEN_PER_MIN: '6',
    };
    // One after the other: the first migrates the database and writes the keys the second loads.
    const first = startServerProcess(env, settings);
    running.push(first);
    const a = await waitForServer(first);
    const second = startServerProcess(env, settings);
    running.push(second);
    const b = await waitForServer(second);
    expect(a).not.toBe(b);
    const alternate = (i: number) => (i % 2 === 0 ? a : b);

    // Per credential: one (forged) token, 6 a minute, spent half at each process.
    const token = `eyJhbGciOiJIUzI1NiJ9.${crypto.randomBytes(24).toString('base64url')}.${crypto.randomBytes(32).toString('base64url')}`;
    const byToken: Answer[] = [];
    for (let i = 0; i < 7; i++) byToken.push(await request(alternate(i), 'GET', '/me', { token }));
    expect(byToken.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401, 429]);
    expect(byToken.map((r) => remainingOf(r, 'per-credential'))).toEqual([5, 4, 3, 2, 1, 0, 0]);
    expect(byToken[6]!.body?.error?.code).toBe('rate_limited');
    expect(Number(byToken[6]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // Per address: 20 a minute from 127.0.0.2, alternated; the 21st is refused by whichever process gets it.
    const byAddress: Answer[] = [];
    for (let i = 0; i < 21; i++) byAddress.push(await request(alternate(i), 'GET', '/me', { from: '127.0.0.2' }));
    expect(byAddress.slice(0, 20).every((r) => r.status === 401)).toBe(true);
    expect(byAddress[20]!.status).toBe(429);
    expect(remainingOf(byAddress[19]!, 'per-address')).toBe(0);
    // ...and by the other one as well; another address is unaffected.
    expect((await request(alternate(21), 'GET', '/me', { from: '127.0.0.2' })).status).toBe(429);
    expect((await request(a, 'GET', '/me', { from: '127.0.0.3' })).status).toBe(401);

    // Sign-in: an unknown username failing at both processes locks at the 5th failure, at both.
    const ghost = `ghost-${crypto.randomBytes(4).toString('hex')}`;
    const signIn = (i: number) => request(alternate(i), 'POST', '/auth/login', {
      from: '127.0.0.4', body: { username: ghost, password: 'not the password', deviceId: `dev-${crypto.randomBytes(8).toString('hex')}` },
    });
    const attempts: Answer[] = [];
    for (let i = 0; i < 7; i++) attempts.push(await signIn(i));
    expect(attempts.map((r) => r.body?.error?.code)).toEqual([
      'invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'account_locked', 'account_locked',
    ]);
    expect(attempts[5]!.status).toBe(429);
    expect(Number(attempts[5]!.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(attempts[5]!.headers['retry-after'])).toBeLessThanOrEqual(60);

    // Both processes counted the sign-in attempts into one per-address counter in Redis.
    const raw = new Redis(redisUrl!);
    try {
      expect(await raw.get(`${prefix}sign-in-address:127.0.0.4`)).toBe('7');
    } finally {
      await raw.quit();
    }
  }, 180_000);
});
