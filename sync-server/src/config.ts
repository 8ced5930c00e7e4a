import { z } from 'zod';
import path from 'node:path';

/**
 * Server configuration, from environment variables only (12-factor). Documented in the
 * README's configuration reference; keep the two in step.
 */
const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('127.0.0.1'),
  /** PostgreSQL connection string; when unset the embedded SQLite file is used. */
  DATABASE_URL: z.string().optional(),
  /** Where the SQLite file and generated keys live when not configured otherwise. */
  DEPOTLINE_DATA_DIR: z.string().default('.data'),
  DEPOTLINE_SQLITE_FILE: z.string().optional(),
  /** Field-encryption key: a file holding 32 random bytes (raw or base64), or the base64 itself. */
  DEPOTLINE_FIELD_KEY_FILE: z.string().optional(),
  DEPOTLINE_FIELD_KEY: z.string().optional(),
  /** Access-token signing key, same forms. */
  DEPOTLINE_TOKEN_KEY_FILE: z.string().optional(),
  DEPOTLINE_TOKEN_KEY: z.string().optional(),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  /** Comma-separated Origins allowed to open sockets (browsers send one; the desktop sends its own). */
  DEPOTLINE_ALLOWED_ORIGINS: z.string().default('app://depotline,http://127.0.0.1:5173,http://localhost:5173'),
  ACCESS_TOKEN_TTL_S: z.coerce.number().int().min(30).max(900).default(600),
  SESSION_IDLE_TIMEOUT_S: z.coerce.number().int().min(60).max(3600).default(3600),
  SESSION_ABSOLUTE_TIMEOUT_S: z.coerce.number().int().min(300).max(43_200).default(43_200),
  /** Roles that must sign in with TOTP, comma-separated. */
  MFA_REQUIRED_ROLES: z.string().default('admin,manager,dispatcher'),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(262_144),
  MAX_SOCKET_MESSAGE_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(262_144),
  /** Trust X-Forwarded-For from this many proxy hops (0: use the socket address). */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(5).default(0),
  LOG_LEVEL: z.enum(['silent', 'error', 'info', 'debug']).default('info'),
});

export interface ServerConfig {
  port: number;
  host: string;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  dataDir: string;
  fieldKey: { file?: string; value?: string };
  tokenKey: { file?: string; value?: string };
  tls: { certFile: string; keyFile: string } | null;
  allowedOrigins: ReadonlySet<string>;
  accessTokenTtlS: number;
  sessionIdleTimeoutS: number;
  sessionAbsoluteTimeoutS: number;
  mfaRequiredRoles: ReadonlySet<string>;
  maxBodyBytes: number;
  maxSocketMessageBytes: number;
  trustProxyHops: number;
  logLevel: 'silent' | 'error' | 'info' | 'debug';
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
  const dataDir = path.resolve(e.DEPOTLINE_DATA_DIR);
  const config: ServerConfig = {
    port: e.PORT,
    host: e.HOST,
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : { kind: 'sqlite', file: path.resolve(e.DEPOTLINE_SQLITE_FILE ?? path.join(dataDir, 'depotline.sqlite')) },
    dataDir,
    fieldKey: { file: e.DEPOTLINE_FIELD_KEY_FILE, value: e.DEPOTLINE_FIELD_KEY },
    tokenKey: { file: e.DEPOTLINE_TOKEN_KEY_FILE, value: e.DEPOTLINE_TOKEN_KEY },
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE } : null,
    allowedOrigins: new Set(e.DEPOTLINE_ALLOWED_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean)),
    accessTokenTtlS: e.ACCESS_TOKEN_TTL_S,
    sessionIdleTimeoutS: e.SESSION_IDLE_TIMEOUT_S,
    sessionAbsoluteTimeoutS: e.SESSION_ABSOLUTE_TIMEOUT_S,
    mfaRequiredRoles: new Set(e.MFA_REQUIRED_ROLES.split(',').map((s) => s.trim()).filter(Boolean)),
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxSocketMessageBytes: e.MAX_SOCKET_MESSAGE_BYTES,
    trustProxyHops: e.TRUST_PROXY_HOPS,
    logLevel: e.LOG_LEVEL,
  };
  assertTransportIsSafe(config);
  return config;
}

/** Plain HTTP only on loopback; anything else needs TLS (docs/security-model.md, "Transit and API surface"). */
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
