import type { ServerConfig } from './config';
import type { FieldCipher } from './crypto/field-cipher';
import type { Db, DbKind } from './db/database';
import type { NoteSigner, NoteVerifier } from './crypto/signed-note';
import type { RateLimitStore } from './ratelimit/limits';

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * What every server module needs, built once at start-up and passed down explicitly (no
 * module-level singletons, so tests can run several servers in one process).
 */
export interface ServerContext {
  config: ServerConfig;
  db: Db;
  dbKind: DbKind;
  cipher: FieldCipher;
  /** HMAC key for access tokens; never leaves the server. */
  tokenKey: Uint8Array;
  /** Wraps each proof of delivery's own data key (proofs/envelope.ts); never leaves the server. */
  proofKey: Uint8Array;
  /** Keys the blind index of customers' phone numbers and emails (privacy/blind-index.ts); never leaves the server. */
  blindIndexKey: Uint8Array;
  /** Signs audit checkpoints; `trusted` adds earlier keys still accepted when verifying (after a rotation). */
  checkpointKeys: { signer: NoteSigner; trusted: readonly NoteVerifier[] };
  /** Request counters and sign-in lockouts of unknown usernames: Redis when REDIS_URL is set, else memory. */
  rateLimits: RateLimitStore;
  now: () => number;
  log: Logger;
}

const levels = { silent: 0, error: 1, info: 2, debug: 3 } as const;

/** JSON lines on stdout/stderr. Never pass tokens, keys or customer PII in `fields`. */
export function createLogger(level: ServerConfig['logLevel']): Logger {
  const at = levels[level];
  const write = (lvl: keyof typeof levels, msg: string, fields?: Record<string, unknown>) => {
    if (levels[lvl] > at) return;
    const line = JSON.stringify({ t: new Date().toISOString(), level: lvl, msg, ...fields });
    (lvl === 'error' ? process.stderr : process.stdout).write(line + '\n');
  };
  return {
    error: (m, f) => write('error', m, f),
    info: (m, f) => write('info', m, f),
    debug: (m, f) => write('debug', m, f),
  };
}
