import net from 'node:net';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from '../errors';

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
 * database) and for unknown usernames (state here, in memory), so an attacker cannot tell the
 * two apart by how they lock.
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

/**
 * The rate-limit key of a client address: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by
 * its /64 prefix, since one subscriber usually holds a whole /64 and could rotate through it.
 */
export function ipRateKey(ip: string | null): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]!.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface LoginThrottleOptions {
  /** Attempts per IP per window. */
  perIpPoints?: number;
  perIpWindowS?: number;
  /** Bound on the unknown-username table, so a flood of random names cannot exhaust memory. */
  maxTrackedUsernames?: number;
}

export class LoginThrottle {
  private readonly perIp: RateLimiterMemory;
  private readonly unknown = new Map<string, LockState>();
  private readonly maxTracked: number;

  constructor(options: LoginThrottleOptions = {}) {
    this.perIp = new RateLimiterMemory({ keyPrefix: 'login-ip', points: options.perIpPoints ?? 30, duration: options.perIpWindowS ?? 300 });
    this.maxTracked = options.maxTrackedUsernames ?? 10_000;
  }

  /** Counts one attempt from `ip`; throws `rate_limited` (with Retry-After) past the limit. */
  async consumeAttempt(ip: string | null): Promise<void> {
    try {
      await this.perIp.consume(ipRateKey(ip));
    } catch (err) {
      if (err instanceof RateLimiterRes) throw rateLimited(Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
      throw err;
    }
  }

  /** The lock state of a username that has no account (keyed lower-cased, like accounts). */
  unknownUserState(username: string): LockState {
    return this.unknown.get(unknownKey(username)) ?? { failedLogins: 0, lockedUntil: null };
  }

  recordUnknownUserFailure(username: string, now: number): LockState {
    const key = unknownKey(username);
    const next = afterFailure(this.unknownUserState(username), now);
    this.unknown.delete(key); // re-insert: Map order doubles as least-recently-failed first
    this.unknown.set(key, next);
    while (this.unknown.size > this.maxTracked) {
      const oldest = this.unknown.keys().next().value;
      if (oldest === undefined) break;
      this.unknown.delete(oldest);
    }
    return next;
  }
}

const unknownKey = (username: string) => username.trim().toLowerCase().slice(0, 256);
