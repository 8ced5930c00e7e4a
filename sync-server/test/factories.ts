/**
 * Factories for users, grants and locations (Outline's `buildUser`), plus a hand-moved clock
 * and a small REST client. Users are created through the real user service (argon2id hash,
 * audit entry); grants and locations are inserted directly, so tests of sign-in do not depend
 * on the grant API's own rules.
 */
import crypto from 'node:crypto';
import { type LoginResponse, type RoleName, roleTemplates } from '@depotline/shared';
import type { AuditActor } from '../src/audit/audit-log';
import { base32Decode, base32Encode, generateTotpSecret, totp } from '../src/auth/totp';
import type { ServerContext } from '../src/context';
import { createUser, totpSecretAad } from '../src/users/users';

export const testOperator: AuditActor = { userId: null, label: 'test', deviceId: null, ip: null };

const tag = () => crypto.randomBytes(4).toString('hex');

/* ------------------------------------------------------------------------------ clock */

export interface TestClock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

/**
 * A clock that moves only when told. It starts 1 s into a 30 s TOTP step so a test's codes do
 * not straddle a step boundary. Pass `clock.now` to `startTestServer(backend, {}, { now })`.
 */
export function testClock(start = Date.now()): TestClock {
  let t = start - (start % 30_000) + 1_000;
  return {
    now: () => t,
    set: (ms) => { t = ms; },
    advance: (ms) => { t += ms; },
  };
}

/* -------------------------------------------------------------------------- locations */

export async function buildLocation(ctx: ServerContext, opts: { id?: string; name?: string; timezone?: string } = {}): Promise<{ id: string; name: string }> {
  const id = opts.id ?? `depot-${tag()}`;
  const name = opts.name ?? `Depot ${id}`;
  await ctx.db.insertInto('locations').values({ id, name, timezone: opts.timezone ?? 'Europe/Berlin', version: 0, created_at: ctx.now() }).execute();
  return { id, name };
}

/* ------------------------------------------------------------------------------ users */

export interface BuildUserOptions {
  /** A grant of this role; without `locationIds`, at a new location. No role: no grant. */
  role?: RoleName;
  locationIds?: string[];
  /** Defaults to contractors' required expiry (one day) or none. */
  grantExpiresAt?: number | null;
  username?: string;
  displayName?: string;
  password?: string;
  /** Enroll a TOTP authenticator; the base32 seed is returned so tests can compute codes. */
  withTotp?: boolean;
}

export interface BuiltUser {
  id: string;
  username: string;
  displayName: string;
  password: string;
  /** Base32 TOTP seed when enrolled, else null. */
  totpSecret: string | null;
  grantId: string | null;
  locationIds: string[];
}

export async function buildUser(ctx: ServerContext, opts: BuildUserOptions = {}): Promise<BuiltUser> {
  const username = opts.username ?? `user-${tag()}`;
  const displayName = opts.displayName ?? `Test User ${tag()}`;
  const password = opts.password ?? `correct horse ${crypto.randomBytes(6).toString('base64url')}`;
  const { id } = await createUser(ctx, testOperator, { username, displayName, password });

  let totpSecret: string | null = null;
  if (opts.withTotp) {
    totpSecret = base32Encode(generateTotpSecret());
    await ctx.db.updateTable('users')
      .set({ totp_secret_enc: ctx.cipher.encrypt(totpSecret, totpSecretAad(id)), totp_enrolled_at: ctx.now(), totp_last_step: null })
      .where('id', '=', id)
      .execute();
  }

  let grantId: string | null = null;
  let locationIds: string[] = [];
  if (opts.role) {
    locationIds = opts.locationIds ?? [(await buildLocation(ctx)).id];
    grantId = crypto.randomUUID();
    const expiresAt = opts.grantExpiresAt !== undefined ? opts.grantExpiresAt : roleTemplates[opts.role].mustExpire ? ctx.now() + 86_400_000 : null;
    await ctx.db.insertInto('grants').values({
      id: grantId, user_id: id, role: opts.role, expires_at: expiresAt, created_at: ctx.now(), created_by: 'test', revoked_at: null, revoked_by: null,
    }).execute();
    await ctx.db.insertInto('grant_locations').values(locationIds.map((location_id) => ({ grant_id: grantId!, location_id }))).execute();
  }
  return { id, username: username.toLowerCase(), displayName, password, totpSecret, grantId, locationIds };
}

/** The user's TOTP code at the server's clock, `offsetSteps` 30 s steps away. */
export function totpNow(ctx: ServerContext, user: Pick<BuiltUser, 'totpSecret'>, offsetSteps = 0): string {
  if (!user.totpSecret) throw new Error('the user has no TOTP seed');
  return totp(base32Decode(user.totpSecret), ctx.now() + offsetSteps * 30_000);
}

/* -------------------------------------------------------------------------------- REST */

export interface RestResult {
  status: number;
  body: Record<string, unknown> | null;
  headers: Headers;
}

/** `fetch` against `/api/v1` of a running server, JSON in and out. */
export async function restCall(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RestResult> {
  const res = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null, headers: res.headers };
}

export const newDeviceId = () => `dev-${crypto.randomBytes(8).toString('hex')}`;

/**
 * Signs a built user in over REST (with a TOTP code at the server clock when enrolled) and
 * returns the `ok` response. Two sign-ins of one TOTP user in the same 30 s step are a replay:
 * advance the clock between them.
 */
export async function signIn(
  baseUrl: string,
  ctx: ServerContext,
  user: BuiltUser,
  opts: { deviceId?: string; headers?: Record<string, string> } = {},
): Promise<Extract<LoginResponse, { status: 'ok' }>> {
  const res = await restCall(baseUrl, 'POST', '/auth/login', {
    headers: opts.headers,
    body: {
      username: user.username, password: user.password, deviceId: opts.deviceId ?? newDeviceId(), deviceName: 'test device',
      ...(user.totpSecret ? { totp: totpNow(ctx, user) } : {}),
    },
  });
  if (res.status !== 200 || res.body?.status !== 'ok') throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Extract<LoginResponse, { status: 'ok' }>;
}
