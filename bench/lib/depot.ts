/**
 * Seeds a benchmark depot through the server's own modules: users, grants (createGrant, audited,
 * as the admin CLI does), sessions with real access tokens, routes and stops with field-encrypted
 * PII and change-log rows. Bulk paths write exactly the rows recordChange would, in chunks, so
 * seeding 50,000 changes takes seconds and is never part of a measurement.
 */
import crypto from 'node:crypto';
import type { RoleName } from '@depotline/shared';
import { sql } from 'kysely';
import { createGrant } from '../../sync-server/src/access/grants';
import { issueAccessToken } from '../../sync-server/src/auth/access-tokens';
import type { ServerContext } from '../../sync-server/src/context';
import { recordChange } from '../../sync-server/src/sync/change-log';
import { encryptStopPii } from '../../sync-server/src/sync/stop-pii';

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'bench', deviceId: null, ip: null } };
/** A valid argon2id string for no known password: consoles here never sign in with a password. */
const unusedPasswordHash = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$unusedunusedunusedunusedunusedunusedunusedu';

export const routeDate = '2026-11-23';

export interface ConsoleCredential {
  userId: string;
  username: string;
  role: RoleName;
  locationId: string;
  token: string;
}

export const locationIdOf = (i: number) => `depot-${String(i + 1).padStart(2, '0')}`;

export async function insertLocations(ctx: ServerContext, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => locationIdOf(i));
  await ctx.db.insertInto('locations').values(ids.map((id) => ({ id, name: `Depot ${id}`, timezone: 'Europe/Berlin', version: 0, created_at: ctx.now() }))).execute();
  return ids;
}

/** One real user per console: a grant at its location and a session with an access token. */
export async function createConsoles(ctx: ServerContext, specs: readonly { locationId: string; role: RoleName }[], prefix = 'console'): Promise<ConsoleCredential[]> {
  const now = ctx.now();
  const users = specs.map((s, i) => ({ ...s, userId: crypto.randomUUID(), username: `${prefix}-${i}-${s.role}` }));
  for (let i = 0; i < users.length; i += 200) {
    await ctx.db.insertInto('users').values(users.slice(i, i + 200).map((u) => ({
      id: u.userId, username: u.username, display_name: u.username, password_hash: unusedPasswordHash,
      totp_secret_enc: null, totp_enrolled_at: null, totp_last_step: null, failed_logins: 0, locked_until: null, disabled_at: null, created_at: now,
    }))).execute();
  }
  const out: ConsoleCredential[] = [];
  for (const u of users) {
    await createGrant(ctx, operator, { userId: u.userId, role: u.role, locationIds: [u.locationId], expiresAt: u.role === 'contractor' ? now + 86_400_000 : null });
    const sessionId = crypto.randomUUID();
    const deviceId = `bench-${crypto.randomBytes(6).toString('hex')}`;
    await ctx.db.insertInto('sessions').values({
      id: sessionId, user_id: u.userId, device_id: deviceId, device_name: 'bench', ip: '127.0.0.1',
      created_at: now, last_seen_at: now, expires_at: now + 3_600_000, revoked_at: null, revoke_reason: null,
    }).execute();
    const { token } = await issueAccessToken(ctx, { userId: u.userId, sessionId, deviceId, sessionEndsAt: now + 3_600_000 });
    out.push({ userId: u.userId, username: u.username, role: u.role, locationId: u.locationId, token });
  }
  return out;
}

export async function insertRoute(ctx: ServerContext, locationId: string, routeId: string, name = `Route ${routeId}`): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const version = await recordChange(trx, locationId, 'route', routeId, ctx.now());
    await trx.insertInto('routes').values({ id: routeId, location_id: locationId, name, date: routeDate, driver_id: null, vehicle_id: null, version, updated_at: ctx.now(), updated_by: 'bench' }).execute();
  });
}

const statuses = ['planned', 'en_route', 'arrived', 'delivered', 'failed', 'cancelled'] as const;

export interface SeedStopsOptions {
  /** Stop status: a fixed one, or `mixed` for a realistic spread over the day's statuses. */
  status?: (typeof statuses)[number] | 'mixed';
  /** First sequence number (so several calls can fill one route). */
  firstSequence?: number;
}

/**
 * Adds `count` stops to a route: for each, the next location version, one change-log row and
 * the stop row with its PII encrypted by the server's field cipher (what recordChange plus the
 * stop insert write, in chunked transactions).
 */
export async function seedStops(ctx: ServerContext, locationId: string, routeId: string, count: number, options: SeedStopsOptions = {}): Promise<string[]> {
  const ids: string[] = [];
  const first = options.firstSequence ?? 0;
  const chunk = 500;
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    await ctx.db.transaction().execute(async (trx) => {
      const bumped = await sql<{ version: number }>`update locations set version = version + ${n} where id = ${locationId} returning version`.execute(trx);
      const top = Number(bumped.rows[0]!.version);
      const now = ctx.now();
      const changes = [];
      const stops = [];
      for (let k = 0; k < n; k++) {
        const seq = first + start + k;
        const id = `${routeId}-s${seq}`;
        const version = top - n + 1 + k;
        const tag = crypto.randomBytes(4).toString('hex');
        ids.push(id);
        changes.push({ location_id: locationId, version, entity: 'stop', entity_id: id, at: now });
        stops.push({
          id, location_id: locationId, route_id: routeId, sequence: seq,
          ...(encryptStopPii(ctx, id, {
            customerName: `Customer ${tag}`,
            address: `${seq + 1} Lindenstrasse, 10${String(seq % 1000).padStart(3, '0')} Berlin`,
            phone: seq % 7 === 0 ? null : `+49 30 ${1_000_000 + ((seq * 7919) % 8_999_999)}`,
            notes: `Leave with neighbour at ${tag}; ring twice`,
          }) as { customer_name_enc: string; address_enc: string; phone_enc: string | null; notes_enc: string }),
          window_start: 1_800_000_000_000 + (seq % 20) * 1_800_000, window_end: 1_800_003_600_000 + (seq % 20) * 1_800_000,
          status: options.status === 'mixed' ? statuses[seq % statuses.length]! : (options.status ?? 'planned'),
          eta: null, version, updated_at: now, updated_by: 'bench',
        });
      }
      for (let i = 0; i < n; i += 250) {
        await trx.insertInto('changes').values(changes.slice(i, i + 250)).execute();
        await trx.insertInto('stops').values(stops.slice(i, i + 250)).execute();
      }
    });
  }
  return ids;
}
