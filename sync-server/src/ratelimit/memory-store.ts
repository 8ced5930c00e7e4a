import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import {
  type Limiter, LimiterRegistry, type LimitSpec, type LimitState, type RateLimitStore, type StrikeRecord, type StrikeRecords, type StrikeSpec,
} from './limits';

/** Counts one request on a rate-limiter-flexible limiter; a refusal is an answer, not an error. */
export async function consumeOn(limiter: RateLimiterAbstract, spec: LimitSpec, key: string): Promise<LimitState> {
  try {
    const res = await limiter.consume(key);
    return { allowed: true, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { allowed: false, remaining: 0, resetMs: Math.max(0, err.msBeforeNext) };
    throw err;
  }
}

export const memoryLimiter = (spec: LimitSpec): RateLimiterMemory =>
  new RateLimiterMemory({ keyPrefix: spec.name, points: spec.points, duration: spec.durationS });

/** One process's counters: right for a single server process (no REDIS_URL). */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory';
  private readonly limiters = new LimiterRegistry<Limiter>((spec) => {
    const limiter = memoryLimiter(spec);
    return { spec, consume: (key) => consumeOn(limiter, spec, key) };
  });
  private readonly strikes = new Map<string, MemoryStrikeRecords>();

  limiter(spec: LimitSpec): Limiter {
    return this.limiters.get(spec, 'per-process');
  }

  strikeRecords(spec: StrikeSpec): StrikeRecords {
    let records = this.strikes.get(spec.name);
    if (!records) this.strikes.set(spec.name, (records = new MemoryStrikeRecords(spec.maxKeys)));
    return records;
  }

  open(): void {}
  async close(): Promise<void> {}
}

/**
 * Strike records in a bounded map, so a flood of random keys cannot exhaust memory: insertion
 * order doubles as least-recently-struck first, and the oldest go past `maxKeys`.
 */
class MemoryStrikeRecords implements StrikeRecords {
  private readonly records = new Map<string, StrikeRecord>();
  constructor(private readonly maxKeys: number) {}

  read(key: string): Promise<StrikeRecord> {
    return Promise.resolve({ ...(this.records.get(key) ?? { strikes: 0, lockedUntil: null }) });
  }

  strike(key: string): Promise<number> {
    const current = this.records.get(key) ?? { strikes: 0, lockedUntil: null };
    this.touch(key, { ...current, strikes: current.strikes + 1 });
    return Promise.resolve(current.strikes + 1);
  }

  lockUntil(key: string, until: number): Promise<void> {
    this.touch(key, { ...(this.records.get(key) ?? { strikes: 0, lockedUntil: null }), lockedUntil: until });
    return Promise.resolve();
  }

  private touch(key: string, record: StrikeRecord): void {
    this.records.delete(key); // re-insert: most recently struck last
    this.records.set(key, record);
    while (this.records.size > this.maxKeys) {
      const oldest = this.records.keys().next().value;
      if (oldest === undefined) break;
      this.records.delete(oldest);
    }
  }
}
