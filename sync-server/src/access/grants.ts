import crypto from 'node:crypto';
import { type Grant, type GrantCreate, groupGrantNeedsApproval, type Permission, type RoleName, roleNames, roleTemplates } from '@depotline/shared';
import { appendAuditEntries, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { badRequest, conflict, forbidden, notFound } from '../errors';
import { AccessRefused, type Granter, mayGrantRole, requireAuthority } from './authority';
import { auditDenied } from './authorize';
import { findGroup, type GroupRecord } from './group-records';
import { type Holding, requireNarrowAuthority, sensitiveDenialsHeld } from './narrowing';

export type { Granter } from './authority';

const isRoleName = (r: string): r is RoleName => (roleNames as readonly string[]).includes(r);
const uniq = <T>(xs: readonly T[]) => [...new Set(xs)];

/**
 * What granting a group needs at every named location: `grant.manage` and every permission the
 * group allows or denies (what revoking it needs); and, when it denies anything, the authority
 * to take back every role and group the grantee already holds there (narrowing.ts): a group of
 * denials takes power away like a revocation does.
 */
export async function requireGroupGrantAuthority(db: Db, granter: Granter, group: GroupRecord, holding: Holding, now: number): Promise<void> {
  const refusal = { action: 'grant.create', targetType: 'user', targetId: holding.userId };
  requireAuthority(granter, holding.locationIds, 'grant.manage', uniq([...group.permissions, ...group.denials]), now, refusal,
    'You can only grant a group where you manage access and hold every permission it allows or denies.');
  if (group.denials.length > 0) await requireNarrowAuthority(db, granter, holding, now, refusal);
}

/**
 * Whether granting the group needs a second person (`grant.privileged`): it allows a sensitive
 * permission (`groupGrantNeedsApproval`), or it denies one the grantee holds at a named location
 * (taking a power away from someone who has it).
 */
export async function groupGrantNeedsSecondPerson(db: Db, group: GroupRecord, holding: Holding, now: number): Promise<boolean> {
  return groupGrantNeedsApproval(group) || (await sensitiveDenialsHeld(db, [holding], group.denials, now)).length > 0;
}

export interface GrantCreateOptions {
  groupVersion?: number;
  /** The direct path judged the grant not to need a second person: judge it again in the transaction. */
  judgedDirect?: boolean;
}

/**
 * Creates a grant inside the caller's transaction: user + (role template or group) + locations
 * + optional expiry, with one audit entry per location. Nobody creates access wider than their
 * own: a role only if a role the granter holds at *every* named location may hand it out
 * (`mayGrant`); a group only where its scope allows it and the granter may grant it
 * (`requireGroupGrantAuthority`). Role templates and groups that must expire need `expiresAt`.
 * `groupVersion` pins the group to the version the caller judged (whether granting it needs a
 * second person): a group changed since is a `conflict`; with `judgedDirect`, a group grant that
 * needs a second person by now (the grantee gained a permission it denies) is one too. A refusal
 * throws `AccessRefused` for the caller to audit.
 */
export async function applyGrantCreate(trx: Db, granter: Granter, input: GrantCreate, now: number, opts: GrantCreateOptions = {}): Promise<Grant> {
  const expiresAt = input.expiresAt ?? null;
  const locationIds = uniq(input.locationIds);
  let group: GroupRecord | null = null;
  if (input.groupId !== undefined) {
    group = await findGroup(trx, { id: input.groupId });
    if (!group) throw notFound('The group');
    await requireGroupGrantAuthority(trx, granter, group, { userId: input.userId, locationIds }, now);
    if (group.retiredAt !== null) throw conflict(`The group "${group.name}" is retired.`);
    if (opts.groupVersion !== undefined && group.version !== opts.groupVersion) {
      throw conflict(`The group "${group.name}" changed (version ${opts.groupVersion}, now ${group.version}); look at it again.`);
    }
    if (opts.judgedDirect && await groupGrantNeedsSecondPerson(trx, group, { userId: input.userId, locationIds }, now)) {
      throw conflict('The user\u2019s access changed since this grant was judged: it now needs a second person\u2019s approval; send it again.');
    }
    const outside = locationIds.filter((l) => !group!.locationIds.includes(l));
    if (outside.length > 0) throw badRequest(outside.map((l) => `locationIds: the group "${group!.name}" may not be granted at "${l}" (outside its scope)`));
    if (group.mustExpire && expiresAt === null) throw badRequest([`expiresAt: grants of the group "${group.name}" must expire`]);
  } else {
    const role = input.role!;
    for (const locationId of locationIds) {
      if (!mayGrantRole(granter, role, locationId, now)) {
        throw new AccessRefused({ permission: 'grant.manage', locationId, action: 'grant.create', targetType: 'user', targetId: input.userId },
          'You cannot grant this role at every one of these locations.');
      }
    }
    if (roleTemplates[role].mustExpire && expiresAt === null) throw badRequest([`expiresAt: ${role} grants must expire`]);
  }
  if (expiresAt !== null && expiresAt <= now) throw badRequest(['expiresAt: must be in the future']);
  return insertGrant(trx, granter.actor, group ? { userId: input.userId, group, locationIds, expiresAt } : { userId: input.userId, role: input.role!, locationIds, expiresAt }, now);
}

type GrantTarget = { role: RoleName; group?: undefined } | { group: GroupRecord; role?: undefined };

/**
 * Writes a grant and its audit entries (one per location) inside the caller's transaction. Who
 * may grant was decided before: by `applyGrantCreate`, or by a second person approving the grant
 * (approvals/). The user must exist and be enabled, and every location must exist.
 */
export async function insertGrant(
  trx: Db, actor: AuditActor, input: { userId: string; locationIds: string[]; expiresAt: number | null } & GrantTarget, now: number,
): Promise<Grant> {
  const { locationIds, expiresAt, group } = input;
  const user = await trx.selectFrom('users').select(['id', 'disabled_at']).where('id', '=', input.userId).executeTakeFirst();
  if (!user) throw notFound('The user');
  if (user.disabled_at !== null) throw conflict('The user is disabled.');
  const found = await trx.selectFrom('locations').select('id').where('id', 'in', locationIds).execute();
  if (found.length !== locationIds.length) throw notFound('One of the locations');
  const id = crypto.randomUUID();
  const createdBy = actor.userId ?? actor.label;
  await trx.insertInto('grants').values({
    id, user_id: input.userId, role: group ? 'group' : input.role, group_id: group?.id ?? null, expires_at: expiresAt, created_at: now,
    created_by: createdBy, revoked_at: null, revoked_by: null,
  }).execute();
  await trx.insertInto('grant_locations').values(locationIds.map((location_id) => ({ grant_id: id, location_id }))).execute();
  const named = group ? { groupId: group.id, groupName: group.name, permissions: group.permissions, denials: group.denials } : { role: input.role };
  // One entry per location, so each depot's audit trail shows who was given access to it.
  await appendAuditEntries(trx, locationIds.map((locationId) => ({ actor, event: {
    action: 'grant.create', outcome: 'ok' as const, targetType: 'grant', targetId: id, locationId,
    details: { userId: input.userId, ...named, locationIds, expiresAt },
  } })), now);
  return {
    id, userId: input.userId, role: group ? null : input.role, groupId: group?.id ?? null, groupName: group?.name ?? null,
    locationIds, expiresAt, createdAt: now, createdBy, revokedAt: null,
  };
}

/** A refusal found inside a transaction is audited on its own, after the rollback. */
async function auditingRefusals<R>(ctx: ServerContext, granter: Granter, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AccessRefused) {
      await auditDenied(ctx, granter.actor, err.request);
      throw forbidden(err.message);
    }
    throw err;
  }
}

/** Creates a grant in its own transaction (REST and CLI); see `applyGrantCreate`. */
export function createGrant(ctx: ServerContext, granter: Granter, input: GrantCreate, opts: GrantCreateOptions = {}): Promise<Grant> {
  return auditingRefusals(ctx, granter, () => ctx.db.transaction().execute((trx) => applyGrantCreate(trx, granter, input, ctx.now(), opts)));
}

/**
 * What revoking a grant needs at each of its locations: for a role, a role that may hand it out;
 * for a group, `grant.manage` and every permission the group allows or denies (revoking removes
 * its denials, which widens what the user may do).
 */
async function requireRevokeAuthority(db: Db, granter: Granter, grant: Grant, now: number): Promise<void> {
  const refusal = { action: 'grant.revoke', targetType: 'grant', targetId: grant.id };
  if (grant.groupId !== null) {
    const group = await findGroup(db, { id: grant.groupId });
    const needs: Permission[] = group ? uniq([...group.permissions, ...group.denials]) : [];
    requireAuthority(granter, grant.locationIds, 'grant.manage', needs, now, refusal, 'The grant was not found.');
    return;
  }
  for (const locationId of grant.locationIds) {
    if (!mayGrantRole(granter, grant.role!, locationId, now)) throw new AccessRefused({ ...refusal, permission: 'grant.manage', locationId }, 'The grant was not found.');
  }
}

/** Revokes a grant. Connected devices of the user drop its locations within a second. */
export async function revokeGrant(ctx: ServerContext, granter: Granter, grantId: string): Promise<void> {
  const now = ctx.now();
  const grant = await getGrant(ctx.db, grantId);
  if (!grant) throw notFound('The grant');
  try {
    await requireRevokeAuthority(ctx.db, granter, grant, now);
  } catch (err) {
    if (!(err instanceof AccessRefused)) throw err;
    await auditDenied(ctx, granter.actor, err.request);
    // Same answer as a missing grant: do not confirm that it exists.
    throw notFound('The grant');
  }
  if (grant.revokedAt !== null) return;
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable('grants').set({ revoked_at: now, revoked_by: granter.actor.userId ?? granter.actor.label }).where('id', '=', grantId).where('revoked_at', 'is', null).execute();
    const named = grant.groupId !== null ? { groupId: grant.groupId, groupName: grant.groupName } : { role: grant.role };
    await appendAuditEntries(trx, grant.locationIds.map((locationId) => ({ actor: granter.actor, event: {
      action: 'grant.revoke', outcome: 'ok' as const, targetType: 'grant', targetId: grantId, locationId,
      details: { userId: grant.userId, ...named, locationIds: grant.locationIds },
    } })), now);
  });
}

export async function getGrant(db: Db, grantId: string): Promise<Grant | null> {
  const row = await db.selectFrom('grants').leftJoin('permission_groups', 'permission_groups.id', 'grants.group_id')
    .selectAll('grants').select('permission_groups.name as group_name').where('grants.id', '=', grantId).executeTakeFirst();
  if (!row) return null;
  const locs = await db.selectFrom('grant_locations').select('location_id').where('grant_id', '=', grantId).orderBy('location_id').execute();
  return {
    id: row.id, userId: row.user_id, role: row.group_id === null && isRoleName(row.role) ? row.role : null,
    groupId: row.group_id, groupName: row.group_name, locationIds: locs.map((l) => l.location_id),
    expiresAt: row.expires_at, createdAt: row.created_at, createdBy: row.created_by, revokedAt: row.revoked_at,
  };
}

export async function listGrantsOfUser(db: Db, userId: string): Promise<Grant[]> {
  const rows = await db.selectFrom('grants').select('id').where('user_id', '=', userId).orderBy('created_at').execute();
  const out: Grant[] = [];
  for (const r of rows) {
    const g = await getGrant(db, r.id);
    if (g) out.push(g);
  }
  return out;
}
