import crypto from 'node:crypto';
import { type Grant, type GrantCreate, type RoleName, roleTemplates } from '@depotline/shared';
import { appendAuditEntries, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { badRequest, conflict, forbidden, notFound } from '../errors';
import type { AccessProfile } from './access-profile';
import { auditDenied } from './authorize';

/**
 * Who is granting: a signed-in user (checked against their own grants) or the admin CLI run
 * by an IT admin on the server host (trusted, but still audited).
 */
export type Granter = { kind: 'user'; actor: AuditActor; profile: AccessProfile } | { kind: 'operator'; actor: AuditActor };

/**
 * Creates a grant: user + role template + locations + optional expiry. A user may grant only
 * roles their own role at *every* named location may hand out (`mayGrant`), so nobody can
 * create access wider than their own. Contractor grants must expire.
 */
export async function createGrant(ctx: ServerContext, granter: Granter, input: GrantCreate): Promise<Grant> {
  const now = ctx.now();
  const template = roleTemplates[input.role];
  const expiresAt = input.expiresAt ?? null;
  if (template.mustExpire && expiresAt === null) throw badRequest([`expiresAt: ${input.role} grants must expire`]);
  if (expiresAt !== null && expiresAt <= now) throw badRequest(['expiresAt: must be in the future']);
  const locationIds = [...new Set(input.locationIds)];

  if (granter.kind === 'user') {
    for (const locationId of locationIds) {
      const view = granter.profile.byLocation.get(locationId);
      const allowed = view && (view.expiresAt === null || view.expiresAt > now) && view.general.has('grant.manage')
        && [...view.roles].some((r) => roleTemplates[r].mayGrant.includes(input.role));
      if (!allowed) {
        await auditDenied(ctx, granter.actor, { permission: 'grant.manage', locationId, action: 'grant.create', targetType: 'user', targetId: input.userId });
        throw forbidden('You cannot grant this role at every one of these locations.');
      }
    }
  }

  return ctx.db.transaction().execute((trx) => insertGrant(trx, granter.actor, { userId: input.userId, role: input.role, locationIds, expiresAt }, now));
}

/**
 * Writes a grant and its audit entries (one per location) inside the caller's transaction. Who
 * may grant was decided before: by `createGrant`, or by a second person approving the grant
 * (approvals/). The user must exist and be enabled, and every location must exist.
 */
export async function insertGrant(
  trx: Db, actor: AuditActor, input: { userId: string; role: RoleName; locationIds: string[]; expiresAt: number | null }, now: number,
): Promise<Grant> {
  const { locationIds, expiresAt } = input;
  const user = await trx.selectFrom('users').select(['id', 'disabled_at']).where('id', '=', input.userId).executeTakeFirst();
  if (!user) throw notFound('The user');
  if (user.disabled_at !== null) throw conflict('The user is disabled.');
  const found = await trx.selectFrom('locations').select('id').where('id', 'in', locationIds).execute();
  if (found.length !== locationIds.length) throw notFound('One of the locations');
  const id = crypto.randomUUID();
  await trx.insertInto('grants').values({
    id, user_id: input.userId, role: input.role, expires_at: expiresAt, created_at: now,
    created_by: actor.userId ?? actor.label, revoked_at: null, revoked_by: null,
  }).execute();
  await trx.insertInto('grant_locations').values(locationIds.map((location_id) => ({ grant_id: id, location_id }))).execute();
  // One entry per location, so each depot's audit trail shows who was given access to it.
  await appendAuditEntries(trx, locationIds.map((locationId) => ({ actor, event: {
    action: 'grant.create', outcome: 'ok' as const, targetType: 'grant', targetId: id, locationId,
    details: { userId: input.userId, role: input.role, locationIds, expiresAt },
  } })), now);
  return { id, userId: input.userId, role: input.role, locationIds, expiresAt, createdAt: now, createdBy: actor.userId ?? actor.label, revokedAt: null };
}

/** Revokes a grant. Connected devices of the user drop its locations within a second. */
export async function revokeGrant(ctx: ServerContext, granter: Granter, grantId: string): Promise<void> {
  const now = ctx.now();
  const grant = await getGrant(ctx, grantId);
  if (!grant) throw notFound('The grant');
  if (granter.kind === 'user') {
    for (const locationId of grant.locationIds) {
      const view = granter.profile.byLocation.get(locationId);
      const allowed = view && (view.expiresAt === null || view.expiresAt > now) && view.general.has('grant.manage')
        && [...view.roles].some((r) => roleTemplates[r].mayGrant.includes(grant.role));
      if (!allowed) {
        await auditDenied(ctx, granter.actor, { permission: 'grant.manage', locationId, action: 'grant.revoke', targetType: 'grant', targetId: grantId });
        // Same answer as a missing grant: do not confirm that it exists.
        throw notFound('The grant');
      }
    }
  }
  if (grant.revokedAt !== null) return;
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable('grants').set({ revoked_at: now, revoked_by: granter.actor.userId ?? granter.actor.label }).where('id', '=', grantId).where('revoked_at', 'is', null).execute();
    await appendAuditEntries(trx, grant.locationIds.map((locationId) => ({ actor: granter.actor, event: {
      action: 'grant.revoke', outcome: 'ok' as const, targetType: 'grant', targetId: grantId, locationId,
      details: { userId: grant.userId, role: grant.role, locationIds: grant.locationIds },
    } })), now);
  });
}

export async function getGrant(ctx: ServerContext, grantId: string): Promise<Grant | null> {
  const row = await ctx.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirst();
  if (!row) return null;
  const locs = await ctx.db.selectFrom('grant_locations').select('location_id').where('grant_id', '=', grantId).orderBy('location_id').execute();
  return {
    id: row.id, userId: row.user_id, role: row.role as RoleName, locationIds: locs.map((l) => l.location_id),
    expiresAt: row.expires_at, createdAt: row.created_at, createdBy: row.created_by, revokedAt: row.revoked_at,
  };
}

export async function listGrantsOfUser(ctx: ServerContext, userId: string): Promise<Grant[]> {
  const rows = await ctx.db.selectFrom('grants').select('id').where('user_id', '=', userId).orderBy('created_at').execute();
  const out: Grant[] = [];
  for (const r of rows) {
    const g = await getGrant(ctx, r.id);
    if (g) out.push(g);
  }
  return out;
}

