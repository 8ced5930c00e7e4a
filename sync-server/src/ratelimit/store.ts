import type { Logger } from '../context';
import { MemoryRateLimitStore } from './memory-store';
import { RedisRateLimitStore } from './redis-store';
import type { RateLimitSettings } from './settings';
import type { RateLimitStore } from './limits';

export type { Limiter, LimitSpec, LimitState, RateLimitStore, StrikeRecord, StrikeRecords, StrikeSpec, WhenStoreDown } from './limits';

/** The store the configuration asks for. Redis connects lazily: a CLI run that never counts opens nothing. */
export function createRateLimitStore(settings: RateLimitSettings, log: Logger): RateLimitStore {
  return settings.redis ? new RedisRateLimitStore(settings.redis, settings.keyPrefix, log) : new MemoryRateLimitStore();
}
