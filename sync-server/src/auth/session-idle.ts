import type { ServerConfig } from '../config';
import type { Db } from '../db/database';

/**
 * Each session's idle limit (docs/security-model.md, "Driver devices"). A driver's phone is
 * shared or lost more easily than a depot desktop, so a session of a user whose grants are all
 * the driver role ends after DEPOTLINE_DRIVER_SESSION_IDLE_S without activity (never longer
 * than SESSION_IDLE_TIMEOUT_S); everyone else has the server-wide limit. The limit is stored on
 * the session (`idle_timeout_s`) when it is created and again at each refresh, so a new grant
 * counts from the next refresh, and every check (access tokens, refresh, the session list, the
 * socket watcher) reads it from the row it already loads.
 */

type IdleConfig = Pick<ServerConfig, 'sessionIdleTimeoutS' | 'driverDevices'>;

/** The limit a session of this user gets now: the driver limit, or null for the server-wide one. */
export async function idleLimitForUser(db: Db, config: IdleConfig, userId: string, now: number): Promise<number | null> {
  const roles = await db.selectFrom('grants').select('role').distinct()
    .where('user_id', '=', userId).where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .execute();
  const driverOnly = roles.length > 0 && roles.every((r) => r.role === 'driver');
  return driverOnly ? Math.min(config.driverDevices.sessionIdleS, config.sessionIdleTimeoutS) : null;
}

/** How long this session may stay idle, in ms. */
export function sessionIdleMs(config: IdleConfig, session: { idle_timeout_s: number | null }): number {
  return (session.idle_timeout_s ?? config.sessionIdleTimeoutS) * 1000;
}
