import type { Grant, GrantCreate } from '@depotline/shared';
import type { AuditActor } from '../audit/audit-log';
import { applyGrantCreate, getGrant } from '../access/grants';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { conflict } from '../errors';

/** What a grant hands out, as a person reads it: its role, or `group <name>`. */
const handsOut = (g: Pick<Grant, 'role' | 'groupName' | 'groupId'>) => g.role ?? `group ${g.groupName ?? g.groupId}`;
const expiryText = (at: number | null) => (at === null ? 'no expiry' : `expiry ${new Date(at).toISOString()}`);

/**
 * The user's active grants that already give what `input` asks for: the same role (or group) with
 * the same expiry, together covering every location named. Such a grant adds nothing but a second
 * row to revoke later, so it is refused. A grant that adds a location or changes the expiry is
 * not a duplicate: renewing a contractor means adding the new grant first and then revoking the
 * old one, because revoking first would make their consoles drop the location's data meanwhile.
 */
export async function duplicatedBy(db: Db, input: GrantCreate, now: number): Promise<Grant[]> {
  const expiresAt = input.expiresAt ?? null;
  let q = db.selectFrom('grants').select('id').where('user_id', '=', input.userId).where('revoked_at', 'is', null);
  q = input.groupId !== undefined ? q.where('group_id', '=', input.groupId) : q.where('role', '=', input.role!).where('group_id', 'is', null);
  q = expiresAt === null ? q.where('expires_at', 'is', null) : q.where('expires_at', '=', expiresAt);
  const rows = await q.execute();
  const same: Grant[] = [];
  for (const r of rows) {
    const g = await getGrant(db, r.id);
    if (g && (g.expiresAt === null || g.expiresAt > now)) same.push(g);
  }
  const covering = same.filter((g) => g.locationIds.some((l) => input.locationIds.includes(l)));
  const covered = new Set(covering.flatMap((g) => g.locationIds));
  return input.locationIds.every((l) => covered.has(l)) ? covering : [];
}

export function duplicateGrantMessage(username: string, input: { locationIds: readonly string[] }, existing: readonly Grant[]): string {
  const first = existing[0]!;
  const ids = existing.map((g) => g.id).join(', ');
  return `${username} already holds ${handsOut(first)} at ${input.locationIds.join(', ')} with ${expiryText(first.expiresAt)} `
    + `(grant ${ids}); the grant would add nothing. To change the expiry, add a grant with the new one and then revoke the old grant.`;
}

/**
 * A grant made on the server host (the admin CLI): the operator is trusted (no escalation check,
 * access/grants.ts), but a duplicate of an active grant is refused, in the same transaction that
 * writes it.
 */
export function grantAsOperator(ctx: ServerContext, actor: AuditActor, username: string, input: GrantCreate): Promise<Grant> {
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const existing = await duplicatedBy(trx, input, now);
    if (existing.length > 0) throw conflict(duplicateGrantMessage(username, input, existing));
    return applyGrantCreate(trx, { kind: 'operator', actor }, input, now);
  });
}

/** Every grant naming the location, active and past, newest first, with the grantee's username. */
export async function listGrantsAtLocation(db: Db, locationId: string): Promise<(Grant & { username: string })[]> {
  const rows = await db.selectFrom('grant_locations')
    .innerJoin('grants', 'grants.id', 'grant_locations.grant_id')
    .innerJoin('users', 'users.id', 'grants.user_id')
    .select(['grants.id', 'users.username'])
    .where('grant_locations.location_id', '=', locationId)
    .orderBy('users.username').orderBy('grants.created_at', 'desc').orderBy('grants.id')
    .execute();
  const out: (Grant & { username: string })[] = [];
  for (const r of rows) {
    const g = await getGrant(db, r.id);
    if (g) out.push({ ...g, username: r.username });
  }
  return out;
}
