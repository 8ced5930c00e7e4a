import type { SessionEnded } from '@depotline/shared';
import { sql } from 'kysely';
import { loadAccessProfile } from '../access/access-profile';
import type { ServerContext } from '../context';
import { joinLocationRooms, sessionRoom, userRoom } from './rooms';
import type { SyncServer } from './socket-types';

/** What a device is told about why its session ended, from the reason it was revoked for. */
function endedReasonOf(revokeReason: string | null): SessionEnded['reason'] {
  if (revokeReason === 'refresh_reused') return 'refresh_reused';
  if (revokeReason === 'user_disabled') return 'user_disabled';
  return 'revoked';
}

/** Poll interval: a revoked session is cut off within this plus one round trip (< 1 s). */
export const watchIntervalMs = 250;

/**
 * Applies security changes to open sockets (ASVS 5.0 8.3.2: authorization changes apply
 * immediately). It reads the database rather than in-process events, so a revocation made by
 * the admin CLI, or by another sync-server process on the same PostgreSQL, is seen the same
 * way. Each process handles only its own sockets (`io.local`).
 *
 * - session revoked, or user disabled -> `session:ended` { wipe: true }, then disconnect
 * - session past its absolute end or its idle limit (shorter for drivers) -> `session:ended` { reason: 'expired', wipe: false }
 * - grant created, revoked or expired, or a permission group the user holds changed -> re-read
 *   the user's grants; the socket moves to the rooms of its new view class (a new denial of
 *   `stop.readPhone` moves it to a room whose copies carry no phone numbers), and locations no
 *   longer allowed get `sync:dropLocation` and the socket leaves their rooms
 */
export function startSecurityWatcher(ctx: ServerContext, io: SyncServer): { stop(): void; tick(): Promise<void> } {
  // Overlapping windows are harmless: every action below is idempotent.
  let since = ctx.now() - 1000;
  let running = false;

  async function tick(): Promise<void> {
    if (running) return;
    running = true;
    try {
      const now = ctx.now();
      const from = since - 1000;
      const revoked = await ctx.db.selectFrom('sessions').select(['id', 'revoke_reason']).where('revoked_at', '>', from).execute();
      for (const s of revoked) endSession(sessionRoom(s.id), endedReasonOf(s.revoke_reason), true);

      // A session past its absolute end, or idle past its limit, ends on every socket as a
      // revocation does (the device keeps its data: it may sign in again). Each session has its
      // own idle limit (a driver's is shorter: auth/session-idle.ts), never above the server-wide one.
      const idleMs = ctx.config.sessionIdleTimeoutS * 1000;
      const idleEnd = sql<number>`last_seen_at + coalesce(idle_timeout_s, ${sql.lit(ctx.config.sessionIdleTimeoutS)}) * 1000`;
      const expired = await ctx.db.selectFrom('sessions').select('id').where('revoked_at', 'is', null)
        .where((eb) => eb.or([
          eb.and([eb('expires_at', '>', from), eb('expires_at', '<=', now)]),
          eb.and([eb('last_seen_at', '>', from - idleMs), eb(idleEnd, '>', from), eb(idleEnd, '<=', now)]),
        ]))
        .execute();
      for (const s of expired) endSession(sessionRoom(s.id), 'expired', false);

      const disabled = await ctx.db.selectFrom('users').select('id').where('disabled_at', '>', from).execute();
      for (const u of disabled) endSession(userRoom(u.id), 'user_disabled', true);

      const grantUsers = await ctx.db
        .selectFrom('grants')
        .select('user_id')
        .distinct()
        .where((eb) => eb.or([
          eb('created_at', '>', from),
          eb('revoked_at', '>', from),
          eb.and([eb('expires_at', '>', from), eb('expires_at', '<=', now)]),
        ]))
        .execute();
      // A permission group changed: its holders' views change as with a grant (retiring one
      // revokes its grants, which the query above finds).
      const groupUsers = await ctx.db
        .selectFrom('grants')
        .innerJoin('permission_groups', 'permission_groups.id', 'grants.group_id')
        .select('grants.user_id')
        .distinct()
        .where('permission_groups.updated_at', '>', from)
        .where('grants.revoked_at', 'is', null)
        .execute();
      for (const user_id of new Set([...grantUsers, ...groupUsers].map((g) => g.user_id))) await refreshUser(user_id, now);
      since = now;
    } catch (err) {
      ctx.log.error('security watcher failed', { err: String(err) });
    } finally {
      running = false;
    }
  }

  function endSession(room: string, reason: SessionEnded['reason'], wipe: boolean): void {
    const target = io.local.in(room);
    target.emit('session:ended', { reason, wipe });
    target.disconnectSockets(true);
  }

  async function refreshUser(userId: string, now: number): Promise<void> {
    // This process's own sockets, read from its adapter's rooms: `fetchSockets()` would also ask
    // Redis how many processes there are, although `local` needs none of their answers.
    const ids = [...(io.of('/').adapter.rooms.get(userRoom(userId)) ?? [])];
    if (ids.length === 0) return;
    const profile = await loadAccessProfile(ctx.db, userId, now);
    for (const id of ids) {
      const socket = io.sockets.sockets.get(id);
      if (!socket) continue;
      socket.data.profile = profile;
      const { dropped } = joinLocationRooms(socket, now);
      for (const locationId of dropped) {
        socket.emit('sync:dropLocation', { locationId, reason: await dropReason(userId, locationId) });
      }
    }
  }

  /** Whichever ended last among the user's grants at this location: a revocation or an expiry. */
  async function dropReason(userId: string, locationId: string): Promise<'grant_revoked' | 'grant_expired'> {
    const ended = await ctx.db
      .selectFrom('grants')
      .innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
      .select(['grants.revoked_at', 'grants.expires_at'])
      .where('grants.user_id', '=', userId)
      .where('grant_locations.location_id', '=', locationId)
      .execute();
    let last: { at: number; reason: 'grant_revoked' | 'grant_expired' } = { at: -1, reason: 'grant_expired' };
    for (const g of ended) {
      // A grant ends at whichever comes first: its revocation or its expiry.
      const endedAt = Math.min(g.revoked_at ?? Infinity, g.expires_at ?? Infinity);
      if (endedAt === Infinity || endedAt < last.at) continue;
      last = { at: endedAt, reason: g.revoked_at !== null && g.revoked_at === endedAt ? 'grant_revoked' : 'grant_expired' };
    }
    return last.reason;
  }

  const timer = setInterval(() => void tick(), watchIntervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), tick };
}
