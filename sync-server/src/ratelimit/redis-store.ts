import { Redis, type RedisOptions } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Logger } from '../context';
import { unavailable } from '../errors';
import {
  type Limiter, LimiterRegistry, type LimitSpec, type RateLimitStore, type StrikeRecord, type StrikeRecords, type StrikeSpec, type WhenStoreDown,
} from './limits';
import { consumeOn, memoryLimiter } from './memory-store';
import { redisTlsOptions } from './redis-connection';
import type { RateLimitSettings } from './settings';

/**
 * Counters in Redis, shared by every server process that points at it: one connection per
 * process, opened on first use and closed with the server. Keys are `<REDIS_KEY_PREFIX><limit
 * name>:<key>`; every key expires by itself (the window, or a strike record's lifetime), and
 * nothing is written to disk by us (persistence is the Redis operator's choice).
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis';
  private readonly client: Redis;
  private reachable: boolean | null = null;
  private readyWait: Promise<boolean> | null = null;
  private readonly limiters: LimiterRegistry<Limiter>;
  private readonly strikes = new Map<string, RedisStrikeRecords>();

  constructor(settings: NonNullable<RateLimitSettings['redis']>, private readonly keyPrefix: string, private readonly log: Logger) {
    const options: RedisOptions = {
      lazyConnect: true,
      // A request never waits for Redis to come back: while it is unreachable, commands fail at
      // once and each limit does what its `WhenStoreDown` says.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 1000,
      connectTimeout: 5000,
      ...redisTlsOptions(settings),
    };
    this.client = new Redis(settings.url, options);
    // ioredis reports every failed reconnect; log the transitions only, never the URL (it may hold a password).
    this.client.on('error', (err: Error) => this.markReachable(false, err));
    this.client.on('ready', () => this.markReachable(true));
    this.limiters = new LimiterRegistry((spec, whenDown) => this.buildLimiter(spec, whenDown));
  }

  limiter(spec: LimitSpec, whenDown: WhenStoreDown): Limiter {
    this.open();
    return this.limiters.get(spec, whenDown);
  }

  strikeRecords(spec: StrikeSpec): StrikeRecords {
    this.open();
    let records = this.strikes.get(spec.name);
    if (!records) {
      records = new RedisStrikeRecords(this.client, `${this.keyPrefix}${spec.name}:`, spec.ttlMs, () => this.ready());
      this.strikes.set(spec.name, records);
    }
    return records;
  }

  open(): void {
    if (this.client.status === 'wait') this.client.connect().catch(() => undefined); // failures arrive as 'error' events
  }

  async close(): Promise<void> {
    if (this.client.status === 'wait' || this.client.status === 'end') return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private buildLimiter(spec: LimitSpec, whenDown: WhenStoreDown): Limiter {
    const limiter = new RateLimiterRedis({
      storeClient: this.client,
      keyPrefix: `${this.keyPrefix}${spec.name}`,
      points: spec.points,
      duration: spec.durationS,
      rejectIfRedisNotReady: true,
      // per-process: this process's own counters take over while Redis is unreachable.
      ...(whenDown === 'per-process' ? { insuranceLimiter: memoryLimiter(spec) } : {}),
    });
    return {
      spec,
      consume: async (key) => {
        // A connection still being opened gets a moment (rather than the first requests being refused, or
        // counted apart); a refusing limiter also waits for one being re-opened. The insured ones do not:
        // during an outage they count per process at once.
        if (whenDown === 'refuse' || this.reachable === null) {
          if (!(await this.ready()) && whenDown === 'refuse') throw unavailable();
        }
        try {
          return await consumeOn(limiter, spec, key);
        } catch {
          throw unavailable(); // only `refuse` limiters get here: the insured ones never reject with an error
        }
      },
    };
  }

  /** True once connected; waits up to `readyWaitMs` for a connection being opened (one wait shared by all callers). */
  private ready(): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    if (!['wait', 'connecting', 'connect', 'reconnecting'].includes(this.client.status)) return Promise.resolve(false);
    this.open();
    this.readyWait ??= new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off('ready', done);
        this.client.off('error', done);
        this.readyWait = null;
        resolve(this.client.status === 'ready');
      };
      const timer = setTimeout(done, readyWaitMs);
      this.client.on('ready', done);
      this.client.on('error', done);
    });
    return this.readyWait;
  }

  private markReachable(reachable: boolean, err?: Error): void {
    if (this.reachable === reachable) return;
    this.reachable = reachable;
    if (reachable) this.log.info('rate limits: Redis connected; limits and sign-in lockouts are shared by every server process');
    else {
      this.log.error('rate limits: Redis unreachable; API limits count per process and sign-in is refused until it is back', {
        err: err?.message ?? 'unknown',
      });
    }
  }
}

/** How long a check waits for a connection that is being opened (or re-opened) before it gives up. */
const readyWaitMs = 1000;

/** One hash per key: `s` the strike count, `u` the lock end (epoch ms). */
class RedisStrikeRecords implements StrikeRecords {
  constructor(private readonly client: Redis, private readonly prefix: string, private readonly ttlMs: number, private readonly ready: () => Promise<boolean>) {}

  async read(key: string): Promise<StrikeRecord> {
    const [strikes, until] = await this.run(() => this.client.hmget(this.prefix + key, 's', 'u'));
    return { strikes: strikes ? Number(strikes) : 0, lockedUntil: until ? Number(until) : null };
  }

  async strike(key: string): Promise<number> {
    const k = this.prefix + key;
    // HINCRBY is atomic: two processes striking at once count two.
    const results = await this.run(() => this.client.multi().hincrby(k, 's', 1).pexpire(k, this.ttlMs).exec());
    const [err, count] = results?.[0] ?? [new Error('transaction discarded'), null];
    if (err) throw unavailable();
    return Number(count);
  }

  async lockUntil(key: string, until: number): Promise<void> {
    const k = this.prefix + key;
    await this.run(() => this.client.multi().hset(k, 'u', String(until)).pexpire(k, this.ttlMs).exec());
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    if (!(await this.ready())) throw unavailable();
    try {
      return await command();
    } catch {
      throw unavailable();
    }
  }
}
