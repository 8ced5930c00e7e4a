import { z } from 'zod';

/**
 * Rate-limit settings, read from the environment with the rest of the configuration (config.ts
 * spreads `rateLimitEnv` into its schema). Documented in the README's configuration reference
 * and docs/operations.md "Rate limits and Redis".
 */
export const rateLimitEnv = {
  /**
   * Redis shared by every server process (`redis://` or `rediss://` for TLS). Unset: limits and
   * sign-in throttles live in this process's memory, which is right for a single process.
   */
  REDIS_URL: z.string().regex(/^rediss?:\/\/./, 'must start with redis:// or rediss:// (TLS)').optional(),
  /** A CA bundle (PEM file) for `rediss://` when the Redis certificate is from a private CA. */
  REDIS_TLS_CA_FILE: z.string().optional(),
  /** Prefix of every key the server writes to Redis, so one Redis can serve several deployments. */
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - only (at most 64)').default('depotline:'),
  /** REST requests per minute from one client address (IPv6: per /64), every route under /api/v1. */
  RATE_LIMIT_PER_ADDRESS_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(1200),
  /** REST requests per minute with one user access token. */
  RATE_LIMIT_PER_USER_TOKEN_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** REST requests per minute with one integration credential (API key or OAuth access token). */
  RATE_LIMIT_PER_INTEGRATION_CREDENTIAL_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(1200),
  /** Requests per minute to the OAuth token endpoint for one client id. */
  RATE_LIMIT_PER_OAUTH_CLIENT_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(60),
};

type RateLimitEnv = z.infer<z.ZodObject<typeof rateLimitEnv>>;

export interface RateLimitSettings {
  /** Null: the in-memory store (one process). */
  redis: { url: string; tlsCaFile: string | null } | null;
  keyPrefix: string;
  /** Requests per minute for each class of REST caller (http/rate-limits.ts). */
  perMinute: { address: number; userToken: number; integrationCredential: number; oauthClient: number };
}

/** `fail` reports a setting that cannot work (config.ts turns it into its ConfigError). */
export function rateLimitSettings(e: RateLimitEnv, fail: (message: string) => never): RateLimitSettings {
  if (e.REDIS_TLS_CA_FILE !== undefined && !e.REDIS_URL?.startsWith('rediss://')) {
    fail('REDIS_TLS_CA_FILE needs REDIS_URL=rediss://... (TLS to Redis); with redis:// the CA would be ignored.');
  }
  return {
    redis: e.REDIS_URL ? { url: e.REDIS_URL, tlsCaFile: e.REDIS_TLS_CA_FILE ?? null } : null,
    keyPrefix: e.REDIS_KEY_PREFIX,
    perMinute: {
      address: e.RATE_LIMIT_PER_ADDRESS_PER_MIN,
      userToken: e.RATE_LIMIT_PER_USER_TOKEN_PER_MIN,
      integrationCredential: e.RATE_LIMIT_PER_INTEGRATION_CREDENTIAL_PER_MIN,
      oauthClient: e.RATE_LIMIT_PER_OAUTH_CLIENT_PER_MIN,
    },
  };
}
