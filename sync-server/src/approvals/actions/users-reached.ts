import { holdsOverUser } from '../../access/authorize';
import type { Db } from '../../db/database';
import type { ApprovalRequester } from '../action';

/**
 * What the actions about one user (their factors) share: the locations they reach, who may
 * ask, and whether the user is still there to act on.
 */

/** Locations where the user holds an active grant (disabled or not): a change to them touches each. */
export async function locationsOfUser(db: Db, userId: string, now: number): Promise<string[]> {
  const rows = await db.selectFrom('grants').innerJoin('grant_locations', 'grant_locations.grant_id', 'grants.id')
    .select('grant_locations.location_id').distinct()
    .where('grants.user_id', '=', userId).where('grants.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]))
    .execute();
  return rows.map((r) => r.location_id).sort();
}

export async function userLabel(db: Db, userId: string): Promise<string> {
  const user = await db.selectFrom('users').select(['username', 'display_name']).where('id', '=', userId).executeTakeFirst();
  return user ? `${user.username} (${user.display_name})` : `user ${userId}`;
}

/** Null when the user exists and is enabled, else why not. */
export async function userUnavailable(db: Db, userId: string): Promise<string | null> {
  const user = await db.selectFrom('users').select('disabled_at').where('id', '=', userId).executeTakeFirst();
  if (!user) return 'the user no longer exists';
  return user.disabled_at !== null ? 'the user is disabled' : null;
}

/**
 * Asking to remove someone's factors takes what ending their sessions takes: `session.revokeAny`
 * at every location where they hold a grant (access/authorize.ts, `holdsOverUser`).
 */
export async function mayAskAboutFactors(db: Db, requester: ApprovalRequester, userId: string, now: number): Promise<string | null> {
  return (await holdsOverUser(db, requester.profile, userId, 'session.revokeAny', now, 'every'))
    ? null : 'it needs session.revokeAny at every location where the user holds a grant';
}
