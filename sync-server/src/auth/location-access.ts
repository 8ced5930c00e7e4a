import { type RoleName, roleNames } from '@depotline/shared';
import type { ServerConfig } from '../config';
import type { Db } from '../db/database';

/**
 * The little sign-in needs to know about a user's grants: their roles (for the MFA policy),
 * their locations (for `Me`). Only active grants
 * count: not revoked and not expired at `now`. access/ has the full authorization model; these
 * queries stay deliberately small so sign-in does not depend on it.
 */

const isRoleName = (r: string): r is RoleName => (roleNames as readonly string[]).includes(r);

function activeGrants(db: Db, userId: string, now: number) {
  return db
    .selectFrom('grants')
    .where('grants.user_id', '=', userId)
    .where('grants.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', now)]));
}

export async function activeRolesOfUser(db: Db, userId: string, now: number): Promise<RoleName[]> {
  const rows = await activeGrants(db, userId, now).select('grants.role').distinct().execute();
  return rows.map((r) => r.role).filter(isRoleName).sort();
}

/** DESIGN.md section 3: which roles must use MFA is policy (MFA_REQUIRED_ROLES). */
export function rolesRequireMfa(roles: readonly RoleName[], config: Pick<ServerConfig, 'mfaRequiredRoles'>): boolean {
  return roles.some((r) => config.mfaRequiredRoles.has(r));
}

