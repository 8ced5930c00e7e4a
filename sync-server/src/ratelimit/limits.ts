/**
 * Where request counters and sign-in lockouts of unknown usernames live: Redis when REDIS_URL
 * is set, so every server process shares one budget per key; this process's memory otherwise.
 * Both answer through the same interface, built on rate-limiter-flexible's fixed windows.
 */

/** `points` requests per `durationS` seconds per key; `name` keeps keys of different limits apart. */
export interface LimitSpec {
  readonly name: string;
  readonly points: number;
  readonly durationS: number;
}

export interface LimitState {
  allowed: boolean;
  /** Requests left in the current window (0 once refused). */
  remaining: number;
  /** Milliseconds until the current window ends and the budget is full again. */
  resetMs: number;
}

/**
 * What a limit does when Redis cannot be reached (docs/security-model.md "Rate limits"):
 * - `per-process`: it keeps counting in this process's memory (each process then allows the
 *   full budget on its own until Redis is back): for the general API, whose limits protect
 *   capacity, so an outage of Redis does not take the API down with it;
 * - `refuse`: the request is refused (`unavailable`, 503): for sign-in, where a limit that
 *   silently multiplies by the number of processes is a gift to a password guesser.
 */
export type WhenStoreDown = 'per-process' | 'refuse';

export interface Limiter {
  readonly spec: LimitSpec;
  /** Counts one request for `key` (counted even when refused). */
  consume(key: string): Promise<LimitState>;
}

export interface StrikeRecord {
  strikes: number;
  /** Epoch ms until which the key is locked; null when never locked. */
  lockedUntil: number | null;
}

/**
 * Consecutive failures per key with an optional lock time: the lockout state of usernames that
 * have no account (auth/throttle.ts). Unreachable Redis always refuses (`unavailable`).
 */
export interface StrikeRecords {
  read(key: string): Promise<StrikeRecord>;
  /** One more strike; returns the new count. The record lives `ttlMs` after its last write. */
  strike(key: string): Promise<number>;
  lockUntil(key: string, until: number): Promise<void>;
}

export interface StrikeSpec {
  readonly name: string;
  /** Redis: how long a record lives after its last write. */
  readonly ttlMs: number;
  /** Memory: how many keys are kept (least recently struck dropped first). */
  readonly maxKeys: number;
}

export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  /** The limiter for `spec`, the same one for every call with that name. */
  limiter(spec: LimitSpec, whenDown: WhenStoreDown): Limiter;
  strikeRecords(spec: StrikeSpec): StrikeRecords;
  /** Starts connecting (Redis); the first use does it too. */
  open(): void;
  close(): Promise<void>;
}

/** One instance per name: a second spec under a name already in use is a programming error. */
export class LimiterRegistry<T extends { readonly spec: LimitSpec }> {
  private readonly byName = new Map<string, T>();
  constructor(private readonly build: (spec: LimitSpec, whenDown: WhenStoreDown) => T) {}

  get(spec: LimitSpec, whenDown: WhenStoreDown): T {
    const known = this.byName.get(spec.name);
    if (known) {
      if (known.spec.points !== spec.points || known.spec.durationS !== spec.durationS) {
        throw new Error(`rate limit "${spec.name}" is already defined with ${known.spec.points}/${known.spec.durationS}s`);
      }
      return known;
    }
    const made = this.build({ ...spec }, whenDown);
    this.byName.set(spec.name, made);
    return made;
  }
}
