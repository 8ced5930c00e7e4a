import { z } from 'zod';
import path from 'node:path';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { type CountryCode, isSupportedCountry } from 'libphonenumber-js';
import { defaultExportBulkRows, defaultExportMaxRangeDays, exportRangeDaysCeiling, roleNames, roleTemplates } from '@depotline/shared';
import { rateLimitEnv, type RateLimitSettings, rateLimitSettings } from './ratelimit/settings';
import { type RetentionSettings, retentionSettings } from './config-retention';
import { defaultPoolSize } from './db/database';

/**
 * Server configuration, from environment variables only (12-factor). Documented in the
 * README's configuration reference; keep the two in step.
 */
const Env = z.object({
  // --- rate limits and Redis (ratelimit/settings.ts): docs/operations.md "Rate limits and Redis" ---
  ...rateLimitEnv,
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('127.0.0.1'),
  /** PostgreSQL connection string; when unset the embedded SQLite file is used. */
  DATABASE_URL: z.string().optional(),
  /**
   * PostgreSQL connection string of the role that owns the schema: migrations run as it, then the
   * DATABASE_URL role is granted what the server needs (no UPDATE/DELETE on the audit log).
   */
  DATABASE_MIGRATION_URL: z.string().optional(),
  /**
   * Connections each server process keeps to PostgreSQL (db/database.ts, defaultPoolSize). A push
   * holds one for its transaction; PostgreSQL's max_connections must cover every process's pool.
   */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).optional(),
  /** Where the SQLite file and generated keys live when not configured otherwise. */
  DEPOTLINE_DATA_DIR: z.string().default('.data'),
  DEPOTLINE_SQLITE_FILE: z.string().optional(),
  /** Field-encryption key: a file holding 32 random bytes (raw or base64), or the base64 itself. */
  DEPOTLINE_FIELD_KEY_FILE: z.string().optional(),
  DEPOTLINE_FIELD_KEY: z.string().optional(),
  /**
   * Earlier field keys, comma-separated files: they only decrypt values not yet re-encrypted
   * under the current key (`depotline-admin keys rotate-field-key`).
   */
  DEPOTLINE_FIELD_KEY_PREVIOUS_FILES: z.string().optional(),
  /** Access-token signing key, same forms. */
  DEPOTLINE_TOKEN_KEY_FILE: z.string().optional(),
  DEPOTLINE_TOKEN_KEY: z.string().optional(),
  /** Audit checkpoints (audit/checkpoints.ts): the Ed25519 signer key file, where signed checkpoints go, how often. */
  DEPOTLINE_CHECKPOINT_KEY_FILE: z.string().optional(),
  DEPOTLINE_CHECKPOINT_DIR: z.string().optional(),
  DEPOTLINE_CHECKPOINT_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(600),
  /** Comma-separated verifier keys of earlier checkpoint keys, still trusted after a rotation. */
  DEPOTLINE_CHECKPOINT_TRUSTED_KEYS: z.string().default(''),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  /** Comma-separated Origins allowed to open sockets (browsers send one; the desktop sends its own). */
  DEPOTLINE_ALLOWED_ORIGINS: z.string().default('app://depotline,http://127.0.0.1:5173,http://localhost:5173'),
  ACCESS_TOKEN_TTL_S: z.coerce.number().int().min(30).max(900).default(600),
  SESSION_IDLE_TIMEOUT_S: z.coerce.number().int().min(60).max(3600).default(3600),
  SESSION_ABSOLUTE_TIMEOUT_S: z.coerce.number().int().min(300).max(43_200).default(43_200),
  /**
   * Roles that must sign in with a second factor, comma-separated. Unset: the role templates'
   * own policy (`mfaRequired` in shared/src/permissions.ts: admin, manager, dispatcher).
   */
  MFA_REQUIRED_ROLES: z.string().optional(),
  /**
   * Leaving `admin` out of MFA_REQUIRED_ROLES is refused unless this says exactly
   * `i-accept-admins-without-mfa`; the server then logs it as an error at every start.
   */
  DEPOTLINE_ALLOW_ADMIN_WITHOUT_MFA: z.string().optional(),
  /**
   * Roles whose sign-ins from a device never used before are held until a trusted device of the
   * user, or an admin of their locations, approves (comma-separated; empty: none).
   */
  DEVICE_APPROVAL_ROLES: z.string().default('admin,manager'),
  /** Trusted devices one user may have at once; a sign-in from one more is refused. */
  MAX_DEVICES_PER_USER: z.coerce.number().int().min(1).max(100).default(10),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(262_144),
  MAX_SOCKET_MESSAGE_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(262_144),
  /** Trust X-Forwarded-For from this many proxy hops (0: use the socket address). */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(5).default(0),
  DEPOTLINE_REQUIRE_ENROLLED_DEVICES: z.enum(['0', '1']).default('0'),
  LOG_LEVEL: z.enum(['silent', 'error', 'info', 'debug']).default('info'),
  // --- security keys (auth/webauthn.ts): see webauthnConfig below ---
  WEBAUTHN_RP_ID: z.string().min(1).max(253).optional(),
  WEBAUTHN_ORIGIN: z.string().url().optional(),
  WEBAUTHN_REQUIRED_ROLES: z.string().default(''),
  /** How long a request for a sensitive change waits for a second person before it expires (approvals/). */
  APPROVAL_TTL_HOURS: z.coerce.number().int().min(1).max(720).default(24),
  // --- exports (exports/): docs/operations.md "Exports" ---
  /** The longest date range, in days, one export of stops and routes may cover. */
  EXPORT_MAX_RANGE_DAYS: z.coerce.number().int().min(1).max(exportRangeDaysCeiling).default(defaultExportMaxRangeDays),
  /** An export of more rows than this is a bulk export: it needs a second person's approval. */
  EXPORT_BULK_ROWS: z.coerce.number().int().min(0).max(10_000_000).default(defaultExportBulkRows),
  // --- webhooks (webhooks/): docs/operations.md "Webhooks" ---
  /** 1: webhook receivers on loopback (127.0.0.0/8, ::1) are allowed, over plain http too; for tests and single-host installs. */
  DEPOTLINE_WEBHOOK_ALLOW_LOOPBACK: z.enum(['0', '1']).default('0'),
  /** Private networks (comma-separated CIDRs, RFC 1918 or IPv6 unique local) webhook receivers may be in, over https: for on-premises receivers. */
  DEPOTLINE_WEBHOOK_ALLOW_CIDRS: z.string().default(''),
  /** How long one webhook POST may take (connect, TLS, answer), in seconds. */
  DEPOTLINE_WEBHOOK_TIMEOUT_S: z.coerce.number().int().min(1).max(60).default(10),
  /** Webhook POSTs in flight at once, per server process. */
  DEPOTLINE_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
  /** How often the webhook worker looks for due deliveries when nothing woke it, in milliseconds. */
  DEPOTLINE_WEBHOOK_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  /** How long a scheduled job's lease lasts unless renewed, in seconds: another process takes a job over this long after its holder died. */
  DEPOTLINE_JOB_LEASE_S: z.coerce.number().int().min(1).max(600).default(30),
  /** How long integration API calls and webhook attempts are kept in the integration logs, in days. */
  DEPOTLINE_INTEGRATION_LOG_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** Minutes a driver keeps their own route's customer data after its last stop closed (0: none). */
  DEPOTLINE_DRIVER_ACCESS_GRACE_MIN: z.coerce.number().int().min(0).max(1440).default(60),
  /** Idle limit of a session whose user's grants are only the driver role (the shorter of this and SESSION_IDLE_TIMEOUT_S). */
  DEPOTLINE_DRIVER_SESSION_IDLE_S: z.coerce.number().int().min(60).max(3600).default(900),
  // --- integration credentials (integrations/api-keys.ts, oauth.ts): docs/operations.md "Integration credentials" ---
  /** The longest life, in days, of an API key or OAuth client secret; every one must expire within it. */
  DEPOTLINE_API_KEY_MAX_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  /** The longest overlap, in days, during which a rotated key or client secret still works beside its successor. */
  DEPOTLINE_ROTATION_OVERLAP_MAX_DAYS: z.coerce.number().int().min(0).max(90).default(30),
  /** How long an OAuth 2.0 access token from /api/v1/oauth/token lives, in seconds. */
  DEPOTLINE_OAUTH_TOKEN_TTL_S: z.coerce.number().int().min(60).max(3600).default(600),
  // --- proof of delivery (proofs/): docs/operations.md "Proof of delivery" ---
  /** Where sealed proof files are stored (the local file store). Default: `proofs` under the data directory. */
  DEPOTLINE_PROOF_DIR: z.string().optional(),
  /** The key that wraps each proof's own data key: a file of 32 random bytes (raw or base64); unset, generated once under the data directory. */
  DEPOTLINE_PROOF_KEY_FILE: z.string().optional(),
  /** A GPS stamp farther than this from the stop's coordinates marks the proof suspicious and alerts the depot's managers, in metres. */
  DEPOTLINE_POD_MAX_DISTANCE_M: z.coerce.number().int().min(10).max(100_000).default(300),
  /** The largest photo or signature upload, in bytes: a larger one is refused (413) before it is read. */
  DEPOTLINE_POD_MAX_FILE_BYTES: z.coerce.number().int().min(10_000).max(50_000_000).default(10_000_000),
  /** The most pixels an uploaded image may have (width x height): a decompression bomb is refused before it is decoded. */
  DEPOTLINE_POD_MAX_PIXELS: z.coerce.number().int().min(100_000).max(268_402_689).default(40_000_000),
  // --- customer tracking links (tracking/): docs/operations.md "Customer tracking links" ---
  /** The public origin links are made with (`https://track.example.com`); unset: derived from HOST and PORT. */
  DEPOTLINE_TRACKING_BASE_URL: z.string().url().optional(),
  /** 1: a link is made for each open stop of a route when the route is dispatched (given a driver). */
  DEPOTLINE_TRACKING_AUTO: z.enum(['0', '1']).default('1'),
  /** The longest a link lives, in days, whatever happens to the stop. */
  DEPOTLINE_TRACKING_MAX_DAYS: z.coerce.number().int().min(1).max(90).default(14),
  /** How long a link still works after its stop is delivered or cancelled, in hours. */
  DEPOTLINE_TRACKING_AFTER_FINAL_HOURS: z.coerce.number().int().min(0).max(720).default(24),
  /** 1: while the stop is next, the page shows the driver's distance rounded to 0.5 km (never a position). */
  DEPOTLINE_TRACKING_COARSE_POSITION: z.enum(['0', '1']).default('0'),
  /** Tracking page and status requests per minute from one client address (IPv6: per /64). */
  DEPOTLINE_TRACKING_RATE_PER_ADDRESS_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(120),
  /** Tracking page and status requests per minute for one link, from anywhere. */
  DEPOTLINE_TRACKING_RATE_PER_LINK_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(60),
  // --- customer privacy (privacy/): docs/operations.md "Customer privacy" ---
  /** The blind-index key (a file of 32 random bytes, raw or base64); unset, generated once under the data directory. */
  DEPOTLINE_BLIND_INDEX_KEY_FILE: z.string().optional(),
  /** The country a phone number written without a country code belongs to (ISO 3166-1 alpha-2), for the blind index. */
  DEPOTLINE_PHONE_REGION: z.string().default('GB').refine((r) => isSupportedCountry(r), 'not a country code libphonenumber knows (e.g. GB, DE, US)'),
});

export interface ServerConfig {
  port: number;
  host: string;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; migrationUrl?: string; poolSize?: number };
  dataDir: string;
  /** The current field key, and the files of earlier ones that still decrypt during a rotation. */
  fieldKey: { file?: string; value?: string; previousFiles: string[] };
  tokenKey: { file?: string; value?: string };
  checkpoints: {
    /** Unset: generated once under the data directory. */
    keyFile?: string;
    dir: string;
    /** 0: no scheduled checkpoints (on demand only). */
    intervalS: number;
    trustedKeys: readonly string[];
  };
  tls: { certFile: string; keyFile: string } | null;
  allowedOrigins: ReadonlySet<string>;
  accessTokenTtlS: number;
  sessionIdleTimeoutS: number;
  sessionAbsoluteTimeoutS: number;
  mfaRequiredRoles: ReadonlySet<string>;
  /** True only when an operator explicitly accepted admins signing in without a second factor. */
  adminWithoutMfa: boolean;
  deviceApprovalRoles: ReadonlySet<string>;
  maxDevicesPerUser: number;
  /** DEPOTLINE_REQUIRE_ENROLLED_DEVICES=1: every sign-in must carry an enrolled device's signature (devices/enrollment.ts). */
  requireEnrolledDevices: boolean;
  maxBodyBytes: number;
  maxSocketMessageBytes: number;
  trustProxyHops: number;
  logLevel: 'silent' | 'error' | 'info' | 'debug';
  /** The WebAuthn relying party (security keys); null when it cannot be derived and is not set. */
  webauthn: WebauthnRelyingParty | null;
  /** Roles whose users must sign in with a security key once they have one (not TOTP alone). */
  webauthnRequiredRoles: ReadonlySet<string>;
  /** How long an approval request stays pending before it expires (APPROVAL_TTL_HOURS). */
  approvalTtlMs: number;
  /** Export policy: the longest range in days, and the row count above which an export needs approval. */
  exports: { maxRangeDays: number; bulkRows: number };
  /** Webhook delivery (webhooks/): loopback receivers allowed, POST timeout, concurrency, idle poll, job lease. */
  webhooks: { allowLoopback: boolean; allowCidrs: string[]; timeoutMs: number; concurrency: number; pollMs: number; leaseMs: number };
  /** How long a scheduled job's lease lasts unless renewed (db/job-leases.ts); the webhook worker's too. */
  jobLeaseMs: number;
  /** Rate limits per class of REST caller, and the Redis that shares them between processes (if any). */
  rateLimits: RateLimitSettings;
  /** Days integration API calls and webhook attempts are kept (DEPOTLINE_INTEGRATION_LOG_DAYS). */
  integrationLogDays: number;
  /** Driver devices (sync/driver-access.ts, auth/session-idle.ts): own-route grace after completion (min), driver session idle limit (s). */
  driverDevices: { accessGraceMin: number; sessionIdleS: number };
  /** Retention periods (DEPOTLINE_RETENTION_*): per-location defaults and bounds, sessions, audit log (config-retention.ts). */
  retention: RetentionSettings;
  /** Integration credential policy: the longest key life, the longest rotation overlap (days), the access token life (s). */
  integrationCredentials: { maxKeyDays: number; maxOverlapDays: number; oauthTokenTtlS: number };
  /** Proof of delivery (proofs/): the file store's directory, the wrapping key's file (unset: generated), the distance check, upload bounds. */
  proofs: { dir: string; keyFile?: string; maxDistanceM: number; maxFileBytes: number; maxPixels: number };
  /** Customer tracking links (tracking/): public origin (null: derived), auto-creation, lifetime, coarse distance, rate limits per minute. */
  tracking: {
    baseUrl: string | null; autoCreate: boolean; maxAgeMs: number; afterFinalMs: number; coarseDistance: boolean;
    perAddressPerMin: number; perLinkPerMin: number;
  };
  /** Customer privacy (privacy/): the blind-index key's file (unset: generated), the region of phone numbers without a country code. */
  privacy: { blindIndexKeyFile?: string; phoneRegion: CountryCode };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if ((e.TLS_CERT_FILE === undefined) !== (e.TLS_KEY_FILE === undefined)) {
    throw new ConfigError('Set both TLS_CERT_FILE and TLS_KEY_FILE, or neither.');
  }
  if (e.DATABASE_MIGRATION_URL !== undefined && e.DATABASE_URL === undefined) {
    throw new ConfigError('DATABASE_MIGRATION_URL needs DATABASE_URL: the role the server runs as (the migration role owns the schema).');
  }
  if (e.DATABASE_POOL_SIZE !== undefined && e.DATABASE_URL === undefined) {
    throw new ConfigError('DATABASE_POOL_SIZE needs DATABASE_URL: it sizes the PostgreSQL connection pool (SQLite has one connection).');
  }
  const dataDir = path.resolve(e.DEPOTLINE_DATA_DIR);
  const config: ServerConfig = {
    port: e.PORT,
    host: e.HOST,
    database: e.DATABASE_URL
      ? {
        kind: 'postgres', url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE ?? defaultPoolSize,
        ...(e.DATABASE_MIGRATION_URL ? { migrationUrl: e.DATABASE_MIGRATION_URL } : {}),
      }
      : { kind: 'sqlite', file: path.resolve(e.DEPOTLINE_SQLITE_FILE ?? path.join(dataDir, 'depotline.sqlite')) },
    dataDir,
    fieldKey: {
      file: e.DEPOTLINE_FIELD_KEY_FILE,
      value: e.DEPOTLINE_FIELD_KEY,
      previousFiles: (e.DEPOTLINE_FIELD_KEY_PREVIOUS_FILES ?? '').split(',').map((f) => f.trim()).filter(Boolean),
    },
    tokenKey: { file: e.DEPOTLINE_TOKEN_KEY_FILE, value: e.DEPOTLINE_TOKEN_KEY },
    checkpoints: {
      keyFile: e.DEPOTLINE_CHECKPOINT_KEY_FILE,
      dir: path.resolve(e.DEPOTLINE_CHECKPOINT_DIR ?? path.join(dataDir, 'audit-checkpoints')),
      intervalS: e.DEPOTLINE_CHECKPOINT_INTERVAL_S,
      trustedKeys: e.DEPOTLINE_CHECKPOINT_TRUSTED_KEYS.split(',').map((k) => k.trim()).filter(Boolean),
    },
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE } : null,
    allowedOrigins: new Set(e.DEPOTLINE_ALLOWED_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean)),
    accessTokenTtlS: e.ACCESS_TOKEN_TTL_S,
    sessionIdleTimeoutS: e.SESSION_IDLE_TIMEOUT_S,
    sessionAbsoluteTimeoutS: e.SESSION_ABSOLUTE_TIMEOUT_S,
    ...mfaPolicy(e.MFA_REQUIRED_ROLES, e.DEPOTLINE_ALLOW_ADMIN_WITHOUT_MFA),
    deviceApprovalRoles: new Set(knownRoles('DEVICE_APPROVAL_ROLES', e.DEVICE_APPROVAL_ROLES)),
    maxDevicesPerUser: e.MAX_DEVICES_PER_USER,
    requireEnrolledDevices: e.DEPOTLINE_REQUIRE_ENROLLED_DEVICES === '1',
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxSocketMessageBytes: e.MAX_SOCKET_MESSAGE_BYTES,
    trustProxyHops: e.TRUST_PROXY_HOPS,
    logLevel: e.LOG_LEVEL,
    approvalTtlMs: e.APPROVAL_TTL_HOURS * 3_600_000,
    ...webauthnConfig(e),
    exports: { maxRangeDays: e.EXPORT_MAX_RANGE_DAYS, bulkRows: e.EXPORT_BULK_ROWS },
    webhooks: {
      allowLoopback: e.DEPOTLINE_WEBHOOK_ALLOW_LOOPBACK === '1', allowCidrs: webhookAllowCidrs(e.DEPOTLINE_WEBHOOK_ALLOW_CIDRS), timeoutMs: e.DEPOTLINE_WEBHOOK_TIMEOUT_S * 1000,
      concurrency: e.DEPOTLINE_WEBHOOK_CONCURRENCY, pollMs: e.DEPOTLINE_WEBHOOK_POLL_MS, leaseMs: e.DEPOTLINE_JOB_LEASE_S * 1000,
    },
    jobLeaseMs: e.DEPOTLINE_JOB_LEASE_S * 1000,
    rateLimits: rateLimitSettings(e, (message) => {
      throw new ConfigError(message);
    }),
    integrationLogDays: e.DEPOTLINE_INTEGRATION_LOG_DAYS,
    driverDevices: { accessGraceMin: e.DEPOTLINE_DRIVER_ACCESS_GRACE_MIN, sessionIdleS: e.DEPOTLINE_DRIVER_SESSION_IDLE_S },
    retention: retentionSettings(env, (message) => {
      throw new ConfigError(message);
    }),
    integrationCredentials: { maxKeyDays: e.DEPOTLINE_API_KEY_MAX_DAYS, maxOverlapDays: e.DEPOTLINE_ROTATION_OVERLAP_MAX_DAYS, oauthTokenTtlS: e.DEPOTLINE_OAUTH_TOKEN_TTL_S },
    proofs: {
      dir: path.resolve(e.DEPOTLINE_PROOF_DIR ?? path.join(dataDir, 'proofs')), keyFile: e.DEPOTLINE_PROOF_KEY_FILE,
      maxDistanceM: e.DEPOTLINE_POD_MAX_DISTANCE_M, maxFileBytes: e.DEPOTLINE_POD_MAX_FILE_BYTES, maxPixels: e.DEPOTLINE_POD_MAX_PIXELS,
    },
    tracking: {
      baseUrl: e.DEPOTLINE_TRACKING_BASE_URL ? new URL(e.DEPOTLINE_TRACKING_BASE_URL).origin : null,
      autoCreate: e.DEPOTLINE_TRACKING_AUTO === '1',
      maxAgeMs: e.DEPOTLINE_TRACKING_MAX_DAYS * 86_400_000,
      afterFinalMs: e.DEPOTLINE_TRACKING_AFTER_FINAL_HOURS * 3_600_000,
      coarseDistance: e.DEPOTLINE_TRACKING_COARSE_POSITION === '1',
      perAddressPerMin: e.DEPOTLINE_TRACKING_RATE_PER_ADDRESS_PER_MIN,
      perLinkPerMin: e.DEPOTLINE_TRACKING_RATE_PER_LINK_PER_MIN,
    },
    privacy: { blindIndexKeyFile: e.DEPOTLINE_BLIND_INDEX_KEY_FILE, phoneRegion: e.DEPOTLINE_PHONE_REGION },
  };
  assertTransportIsSafe(config);
  return config;
}

export const adminWithoutMfaAcknowledgement = 'i-accept-admins-without-mfa';

/**
 * Which roles must use a second factor. One source of truth: the role templates, unless the
 * operator names roles; an unknown name stops the server (a typo must never turn MFA off), and
 * dropping admin needs the explicit acknowledgement.
 */
function mfaPolicy(rolesSetting: string | undefined, acknowledgement: string | undefined): Pick<ServerConfig, 'mfaRequiredRoles' | 'adminWithoutMfa'> {
  const roles = rolesSetting === undefined ? roleNames.filter((r) => roleTemplates[r].mfaRequired) : knownRoles('MFA_REQUIRED_ROLES', rolesSetting);
  if (acknowledgement !== undefined && acknowledgement !== adminWithoutMfaAcknowledgement) {
    throw new ConfigError(`DEPOTLINE_ALLOW_ADMIN_WITHOUT_MFA: the only accepted value is "${adminWithoutMfaAcknowledgement}".`);
  }
  const adminWithoutMfa = !roles.includes('admin');
  if (adminWithoutMfa && acknowledgement !== adminWithoutMfaAcknowledgement) {
    throw new ConfigError(
      `MFA_REQUIRED_ROLES leaves out "admin": administrators would sign in with a password alone. Add admin, or set DEPOTLINE_ALLOW_ADMIN_WITHOUT_MFA=${adminWithoutMfaAcknowledgement} to accept it.`,
    );
  }
  return { mfaRequiredRoles: new Set(roles), adminWithoutMfa };
}

/** A comma-separated list of role names; an unknown name stops the server with the variable's name. */
function knownRoles(variable: string, setting: string): string[] {
  const roles = setting.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = roles.filter((r) => !(roleNames as readonly string[]).includes(r));
  if (unknown.length > 0) {
    throw new ConfigError(`${variable}: unknown role ${unknown.map((r) => `"${r}"`).join(', ')} (roles: ${roleNames.join(', ')}).`);
  }
  return roles;
}

/** Plain HTTP only on loopback; anything else needs TLS (docs/security-model.md, "Transit and API surface"). */
/** The networks a webhook receiver may be on besides public ones: each must lie inside 10/8, 172.16/12, 192.168/16 or fc00::/7. */
const allowablePrivateNetworks = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'].map((c) => ipaddr.parseCIDR(c));

export function webhookAllowCidrs(setting: string): string[] {
  const cidrs = setting.split(',').map((c) => c.trim()).filter((c) => c !== '');
  return cidrs.map((cidr) => {
    let network: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      network = ipaddr.parseCIDR(cidr);
    } catch {
      throw new ConfigError(`DEPOTLINE_WEBHOOK_ALLOW_CIDRS: "${cidr}" is not a CIDR (e.g. 10.20.0.0/16).`);
    }
    const inside = allowablePrivateNetworks.some(([base, bits]) => base.kind() === network[0].kind() && network[1] >= bits && network[0].match(base, bits));
    if (!inside) throw new ConfigError(`DEPOTLINE_WEBHOOK_ALLOW_CIDRS: ${cidr} is not inside a private network (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7).`);
    return `${network[0].toString()}/${network[1]}`;
  });
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function assertTransportIsSafe(config: Pick<ServerConfig, 'host' | 'tls'>): void {
  if (!config.tls && !isLoopbackHost(config.host)) {
    throw new ConfigError(
      `Refusing to listen on ${config.host} without TLS: set TLS_CERT_FILE and TLS_KEY_FILE, or HOST=127.0.0.1 for local development.`,
    );
  }
}

/* --- security keys: the relying party (docs/security-model.md, "Security keys and the relying party") --- */

export interface WebauthnRelyingParty {
  /** W3C WebAuthn L3 section 5.1.4 "RP ID": a domain; credentials are scoped to it. */
  rpId: string;
  /** The exact origin the ceremony page is served from; assertions made anywhere else are refused. */
  origin: string;
  /** True when derived from HOST/PORT, so a PORT of 0 is filled in once the server listens. */
  derivedFromPort: boolean;
}

/** `*.localhost` is a secure context over plain HTTP (W3C Secure Contexts section 3.2). */
const isLocalhostName = (h: string) => h === 'localhost' || h.endsWith('.localhost');

/** The relying party for HOST/PORT when not configured: `localhost` on loopback, the host name under TLS. */
export function derivedRelyingParty(host: string, port: number, tls: boolean): WebauthnRelyingParty | null {
  const scheme = tls ? 'https' : 'http';
  const defaultPort = tls ? 443 : 80;
  const withPort = (h: string) => `${scheme}://${h}${port === defaultPort ? '' : `:${port}`}`;
  // An IP address cannot be an RP ID (L3 section 5.1.4.1): on loopback, the page is served as localhost.
  if (isLoopbackHost(host)) return { rpId: 'localhost', origin: withPort('localhost'), derivedFromPort: true };
  if (tls && net.isIP(host) === 0 && host.includes('.')) return { rpId: host.toLowerCase(), origin: withPort(host.toLowerCase()), derivedFromPort: true };
  return null;
}

function webauthnConfig(e: z.infer<typeof Env>): Pick<ServerConfig, 'webauthn' | 'webauthnRequiredRoles'> {
  const required = new Set(e.WEBAUTHN_REQUIRED_ROLES.split(',').map((s) => s.trim()).filter(Boolean));
  const unknown = [...required].filter((r) => !(roleNames as readonly string[]).includes(r));
  if (unknown.length > 0) throw new ConfigError(`WEBAUTHN_REQUIRED_ROLES names unknown roles: ${unknown.join(', ')}`);
  let webauthn: WebauthnRelyingParty | null;
  if (e.WEBAUTHN_ORIGIN !== undefined) {
    const url = new URL(e.WEBAUTHN_ORIGIN);
    const origin = url.origin;
    const rpId = (e.WEBAUTHN_RP_ID ?? url.hostname).toLowerCase();
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLocalhostName(url.hostname))) {
      throw new ConfigError('WEBAUTHN_ORIGIN must be https:// (browsers offer WebAuthn only in secure contexts; http is allowed for localhost).');
    }
    // L3 section 5.1.4.1: the RP ID must be the origin's effective domain or a registrable suffix of it.
    if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
      throw new ConfigError(`WEBAUTHN_RP_ID (${rpId}) must be the host of WEBAUTHN_ORIGIN (${url.hostname}) or a parent domain of it.`);
    }
    webauthn = { rpId, origin, derivedFromPort: false };
  } else if (e.WEBAUTHN_RP_ID !== undefined) {
    throw new ConfigError('WEBAUTHN_RP_ID needs WEBAUTHN_ORIGIN: the origin of the ceremony page (the server as browsers reach it).');
  } else {
    webauthn = derivedRelyingParty(e.HOST, e.PORT, e.TLS_CERT_FILE !== undefined);
  }
  if (required.size > 0 && webauthn === null) {
    throw new ConfigError('WEBAUTHN_REQUIRED_ROLES is set but the relying party cannot be derived from HOST: set WEBAUTHN_ORIGIN.');
  }
  return { webauthn, webauthnRequiredRoles: required };
}
