import fs from 'node:fs';
import type { RedisOptions } from 'ioredis';
import type { RateLimitSettings } from './settings';

/**
 * The TLS part of every Redis connection the server opens (rate limits, socket fan-out): a
 * `rediss://` URL turns TLS on by itself; a private CA comes from REDIS_TLS_CA_FILE.
 */
export function redisTlsOptions(settings: NonNullable<RateLimitSettings['redis']>): Pick<RedisOptions, 'tls'> {
  return settings.tlsCaFile ? { tls: { ca: fs.readFileSync(settings.tlsCaFile) } } : {};
}
