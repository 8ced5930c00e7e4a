import { rateLimited } from '../errors';
import { ipRateKey, secretRateKey } from '../ratelimit/keys';
import type { LimitSpec, RateLimitStore, StrikeSpec } from '../ratelimit/store';

/**
 * Brute-force defences for sign-in (NIST SP 800-63B 5.2.2, ASVS 2.2.1):
 * - a per-IP rate limit over all attempts, so one client cannot spray many accounts;
 * - progressive lockout after consecutive failures, counted per *bucket*: each device the user
 *   has signed in on before (and proves with its device secret, OWASP's "device cookie"
 *   pattern) has its own bucket, and every other device shares the account's bucket. A stranger
 *   who knows a username can slow only the unknown-device bucket, never the user's own desks.
 * - at 100 consecutive failures a bucket is blocked (sign-in from it refused) until a sign-in
 *   succeeds from a known device or an admin unlocks it. Reaching any limit never disables the
 *   account, revokes a session or wipes a device.
 * The lockout state machine is one pure function used for real accounts (state in the
 * database) and for unknown usernames (state in the rate-limit store: memory, or Redis shared by
 * every server process), so an attacker cannot tell the two apart by how they lock.
 */

export interface LockState {
  failedLogins: number;
  /** Epoch ms until which sign-in is refused; null when not locked. */
  lockedUntil: number | null;
}

export const lockoutPolicy = {
  /** Every this many consecutive failures the account locks... */
  failuresPerLock: 5,
  /** ...first for a minute, doubling each time... */
  firstLockS: 60,
  /** ...up to an hour. */
  maxLockS: 3600,
  /** NIST SP 800-63B 5.2.2: no more than 100 consecutive failed attempts per authenticator. */
  blockAfter: 100,
} as const;

/** A bucket past the NIST limit refuses every attempt until it is reset. */
export const isBlocked = (state: Pick<LockState, 'failedLogins'>) => state.failedLogins >= lockoutPolicy.blockAfter;

/** The lock (seconds) that starts after the `failures`-th consecutive failure, or null. */
export function lockDurationAfter(failures: number): number | null {
  if (failures <= 0 || failures % lockoutPolicy.failuresPerLock !== 0) return null;
  const level = failures / lockoutPolicy.failuresPerLock - 1;
  return Math.min(lockoutPolicy.firstLockS * 2 ** Math.min(level, 30), lockoutPolicy.maxLockS);
}

/** The state after one more failure at `now`. */
export function afterFailure(state: LockState, now: number): LockState {
  const failedLogins = state.failedLogins + 1;
  const lockS = lockDurationAfter(failedLogins);
  return { failedLogins, lockedUntil: lockS === null ? state.lockedUntil : now + lockS * 1000 };
}

/** Seconds a caller is told to wait: the lock, or the longest lock while blocked. */
export function refusedForS(state: LockState, now: number): number | null {
  if (isBlocked(state)) return lockoutPolicy.maxLockS;
  return lockedForS(state.lockedUntil, now);
}

/** Whole seconds until `lockedUntil`, at least 1; null when not locked at `now`. */
export function lockedForS(lockedUntil: number | null, now: number): number | null {
  if (lockedUntil === null || lockedUntil <= now) return null;
  return Math.max(1, Math.ceil((lockedUntil - now) / 1000));
}

export { ipRateKey } from '../ratelimit/keys';

export interface LoginThrottleOptions {
  /**
   * Names the per-address budget in the store: throttles with one name share it (every door
   * that checks a password before a session uses the sign-in throttle's).
   */
  name?: string;
  /** Attempts per IP per window. */
  perIpPoints?: number;
  perIpWindowS?: number;
  /** Memory store: bound on the unknown-username table, so a flood of random names cannot exhaust memory. */
  maxTrackedUsernames?: number;
}

/**
 * How long the lockout state of an unknown username lives in Redis after its last failure.
 * Long enough to outlast the longest lock many times over; memory keeps its bounded table instead.
 */
const unknownUsernameTtlMs = 7 * 24 * 3600_000;

/**
 * The sign-in throttle's state lives in the rate-limit store (ratelimit/): with Redis, every
 * server process shares one per-address budget and one lockout state per unknown username. It
 * fails closed: when Redis cannot be reached, sign-in answers `unavailable` (503) instead of
 * letting each process count on its own. Lockouts of real accounts live in the database.
 */
export class LoginThrottle {
  private readonly perIp: LimitSpec;
  private readonly unknown: StrikeSpec;

  constructor(options: LoginThrottleOptions = {}) {
    const name = options.name ?? 'sign-in';
    this.perIp = { name: `${name}-address`, points: options.perIpPoints ?? 30, durationS: options.perIpWindowS ?? 300 };
    this.unknown = { name: `${name}-unknown-user`, ttlMs: unknownUsernameTtlMs, maxKeys: options.maxTrackedUsernames ?? 10_000 };
  }

  /** Counts one attempt from `ip`; throws `rate_limited` (with Retry-After) past the limit. */
  async consumeAttempt(store: RateLimitStore, ip: string | null): Promise<void> {
    const state = await store.limiter(this.perIp, 'refuse').consume(ipRateKey(ip));
    if (!state.allowed) throw rateLimited(Math.max(1, Math.ceil(state.resetMs / 1000)));
  }

  /** The lock state of a username that has no account (keyed lower-cased, like accounts). */
  async unknownUserState(store: RateLimitStore, username: string): Promise<LockState> {
    const record = await store.strikeRecords(this.unknown).read(unknownKey(username));
    return { failedLogins: record.strikes, lockedUntil: record.lockedUntil };
  }

  /**
   * One more failure for a username that has no account. The count is one atomic increment, so
   * failures sent to two processes at once both count; the lock follows from the count exactly
   * as `afterFailure` derives it for accounts.
   */
  async recordUnknownUserFailure(store: RateLimitStore, username: string, now: number): Promise<LockState> {
    const records = store.strikeRecords(this.unknown);
    const key = unknownKey(username);
    const failedLogins = await records.strike(key);
    const lockS = lockDurationAfter(failedLogins);
    if (lockS !== null) {
      await records.lockUntil(key, now + lockS * 1000);
      return { failedLogins, lockedUntil: now + lockS * 1000 };
    }
    return { failedLogins, lockedUntil: (await records.read(key)).lockedUntil };
  }
}

/** Lower-cased like account names, then hashed: a password typed into the username field is never stored. */
const unknownKey = (username: string) => secretRateKey(username.trim().toLowerCase().slice(0, 256));
