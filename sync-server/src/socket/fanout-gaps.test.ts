/**
 * Live changes lost between processes are noticed and made up by a pull (socket/adapter.ts):
 * entries trimmed from the Redis stream before another process read them, and an append refused
 * while the connection stays up (Redis out of memory under `noeviction`). Either way the other
 * process's consoles are made to reconnect, which is when a console pulls from its cursor.
 * Two real servers on one PostgreSQL database and the test's Redis, under their own key prefix.
 */
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestEnv, startServerOn, type TestEnv } from '../../test/harness';
import { connectSocket, eventually, insertLocation, insertRoute, insertStops, insertUser, mutationId, openSession } from '../../test/world';
import { createGrant } from '../access/grants';
import { loadConfig, type ServerConfig } from '../config';
import { compareStreamIds, fanOutStreamMaxLen } from './adapter';
import { userRoom } from './rooms';

const redisUrl = process.env.DEPOTLINE_TEST_REDIS_URL;
const skipped = redisUrl ? '' : ' (SKIPPED: DEPOTLINE_TEST_REDIS_URL is not set; run through `npm test`, which starts a throwaway Redis)';
const prefix = `gaps-${crypto.randomBytes(4).toString('hex')}:`;
const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

function redisSettings(url: string): Partial<ServerConfig> {
  return { rateLimits: { ...loadConfig({}).rateLimits, redis: { url, tlsCaFile: null }, keyPrefix: prefix } };
}

describe('stream entry ids', () => {
  it('compare by time, then by sequence, as numbers', () => {
    expect(compareStreamIds('10-0', '9-5')).toBe(1);
    expect(compareStreamIds('9-10', '9-9')).toBe(1);
    expect(compareStreamIds('9-9', '9-9')).toBe(0);
    expect(compareStreamIds('1700000000000-0', '1700000000001-0')).toBe(-1);
  });
});

describe.skipIf(!redisUrl)(`live changes lost between processes${skipped}`, () => {
  let env: TestEnv;
  let a: Awaited<ReturnType<typeof startServerOn>>;
  let b: Awaited<ReturnType<typeof startServerOn>>;
  let redis: Redis;
  let seq = 0;
  beforeAll(() => {
    redis = new Redis(redisUrl!);
  });
  // A fresh pair per test: a process resyncs its consoles at most once per 15 s.
  beforeEach(async () => {
    env = await createTestEnv('postgres', redisSettings(redisUrl!));
    a = await startServerOn(env);
    b = await startServerOn(env);
    await insertLocation(a.ctx, 'depot-g');
  });
  afterEach(async () => {
    await redis.config('SET', 'maxmemory', '0').catch(() => undefined);
    await b?.close();
    await a?.close();
    await env?.dispose();
  });
  afterAll(async () => {
    await redis?.del(`${prefix}socket.io`).catch(() => undefined);
    redis?.disconnect();
  });

  /** A dispatcher's console on process B, counting its disconnects. */
  async function consoleOnB() {
    const id = await insertUser(a.ctx, `disp-g${++seq}`);
    await createGrant(a.ctx, operator, { userId: id, role: 'dispatcher', locationIds: ['depot-g'] });
    const socket = await connectSocket(b.url, (await openSession(a.ctx, id)).token);
    const state = { socket, userId: id, disconnects: 0 };
    socket.on('disconnect', () => void state.disconnects++);
    return state;
  }

  it('entries trimmed before process B read them: B\'s consoles are made to reconnect', async () => {
    const onB = await consoleOnB();
    // A burst longer than the stream keeps, emitted on A in one go (as a purge's removals can be):
    // B cannot read it all before the oldest entries are trimmed.
    const n = fanOutStreamMaxLen + 5_000;
    for (let i = 0; i < n; i++) {
      a.io.to(userRoom(onB.userId)).emit('sync:change', { entity: 'removed', locationId: 'depot-g', version: i + 1, data: { kind: 'stop', id: `s${i}` } });
    }
    const noticed = await eventually(() => onB.disconnects > 0, 20_000, 100);
    expect(noticed).toBe(true);
    expect(onB.socket.received.length).toBeLessThan(n); // some were lost, and that was noticed
  }, 60_000);

  it('an append refused while the connection stays up (Redis out of memory): B\'s consoles reconnect once appends work again', async () => {
    const onB = await consoleOnB();
    const mgr = await insertUser(a.ctx, `mgr-g${seq}`);
    await createGrant(a.ctx, operator, { userId: mgr, role: 'manager', locationIds: ['depot-g'] });
    await a.ctx.db.insertInto('drivers').values([{ id: `drv-g${seq}`, location_id: 'depot-g', name: 'D', user_id: null }]).execute();
    await insertRoute(a.ctx, 'depot-g', `route-g${seq}`, `drv-g${seq}`);
    const [stop] = await insertStops(a.ctx, 'depot-g', `route-g${seq}`, 1);
    const token = (await openSession(a.ctx, mgr)).token;

    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    try {
      const res = await fetch(`${a.url}/api/v1/sync/push`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ mutations: [{ id: mutationId(), locationId: 'depot-g', createdAt: Date.now(), type: 'stop.editNotes', stopId: stop!.id, notes: 'during the outage' }] }),
      });
      // The push itself is committed and answered: the live copy is what was lost.
      expect(res.status).toBe(200);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    expect(await eventually(() => onB.disconnects > 0, 15_000, 100)).toBe(true);
  }, 60_000);
});
