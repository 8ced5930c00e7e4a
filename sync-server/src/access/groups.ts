import crypto from 'node:crypto';
import { groupChangeNeedsApproval, type GroupCreate, type GroupUpdate, type Permission, groupChangeWidens } from '@depotline/shared';
import { appendAuditEntries } from '../audit/audit-log';
import type { Db } from '../db/database';
import { badRequest, conflict, notFound } from '../errors';
import { type Granter, requireAuthority } from './authority';
import { activeGroupGrantLocations, findGroup, type GroupRecord, shapeOf } from './group-records';
import { groupHoldings, requireNarrowAuthority, sensitiveDenialsHeld } from './narrowing';

/*
 * Creating, changing and retiring permission groups (docs/security-model.md, "Permission groups
 * and denials"). Each `apply*` function checks and writes inside the caller's transaction, with
 * its audit entries, so the same call serves a direct change and one applied later on approval.
 * A refusal throws `AccessRefused` (its caller audits it) or a typed error; nothing is written.
 *
 * No escalation: the actor needs `group.manage` at every location of the group's scope (before
 * and after the change) and must hold there every permission the group allows, and every
 * denial the change removes (removing a denial widens what holders may do). Adding a denial to
 * a group nobody holds needs nothing more; adding one to a granted group narrows its holders,
 * so it needs what narrowing them directly needs (`requireGroupUpdateAuthority`).
 */

const uniq = <T>(xs: readonly T[]) => [...new Set(xs)];
const byOf = (actor: Granter) => actor.actor.userId ?? actor.actor.label;
// A concurrent create of the same name: PostgreSQL's unique_violation, SQLite's constraint code.
const isUniqueViolation = (err: unknown) => ['23505', 'SQLITE_CONSTRAINT_UNIQUE'].includes(String((err as { code?: unknown } | null)?.code));

async function requireLocations(trx: Db, locationIds: readonly string[]): Promise<void> {
  const found = await trx.selectFrom('locations').select('id').where('id', 'in', locationIds).execute();
  const missing = locationIds.filter((id) => !found.some((f) => f.id === id));
  if (missing.length > 0) throw badRequest(missing.map((id) => `locationIds: no location "${id}"`));
}

async function requireFreeName(trx: Db, name: string, exceptId: string | null): Promise<void> {
  const taken = await trx.selectFrom('permission_groups').select('id').where('name', '=', name).executeTakeFirst();
  if (taken && taken.id !== exceptId) throw conflict(`A group named "${name}" already exists (retired groups keep their names).`);
}

/** Loads a group for a change, or answers as if it did not exist. */
async function requireGroup(trx: Db, groupId: string): Promise<GroupRecord> {
  const group = await findGroup(trx, { id: groupId });
  if (!group) throw notFound('The group');
  return group;
}

/** One entry per location, so each depot's audit trail shows the change of what can be granted there. */
async function auditPerLocation(trx: Db, actor: Granter, action: string, groupId: string, locationIds: readonly string[], details: Record<string, unknown>, now: number): Promise<void> {
  await appendAuditEntries(trx, uniq(locationIds).sort().map((locationId) => ({
    actor: actor.actor, event: { action, outcome: 'ok' as const, targetType: 'group', targetId: groupId, locationId, details },
  })), now);
}

async function writeScope(trx: Db, groupId: string, locationIds: readonly string[]): Promise<void> {
  await trx.deleteFrom('permission_group_locations').where('group_id', '=', groupId).execute();
  await trx.insertInto('permission_group_locations').values(uniq(locationIds).map((location_id) => ({ group_id: groupId, location_id }))).execute();
}

export async function applyGroupCreate(trx: Db, actor: Granter, input: GroupCreate, now: number): Promise<GroupRecord> {
  const locationIds = uniq(input.locationIds).sort();
  const permissions = uniq(input.permissions).sort();
  const denials = uniq(input.denials).sort();
  requireAuthority(actor, locationIds, 'group.manage', permissions, now,
    { action: 'group.create', targetType: 'group', targetId: input.name },
    'You can only create a group at locations where you manage groups and hold every permission it allows.');
  await requireLocations(trx, locationIds);
  await requireFreeName(trx, input.name, null);
  const id = crypto.randomUUID();
  try {
    await trx.insertInto('permission_groups').values({
      id, name: input.name, description: input.description, permissions: JSON.stringify(permissions), denials: JSON.stringify(denials),
      mfa_required: input.mfaRequired ? 1 : 0, must_expire: input.mustExpire ? 1 : 0, version: 1,
      created_at: now, created_by: byOf(actor), updated_at: now, updated_by: byOf(actor), retired_at: null, retired_by: null,
    }).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A group named "${input.name}" already exists (retired groups keep their names).`);
    throw err;
  }
  await writeScope(trx, id, locationIds);
  const group = (await findGroup(trx, { id }))!;
  await auditPerLocation(trx, actor, 'group.create', id, locationIds, { ...shapeOf(group), description: group.description }, now);
  return group;
}

/** The group as `update` would leave it (lists replaced, flags changed), before any check. */
export function groupAfterUpdate(before: GroupRecord, input: GroupUpdate): GroupRecord {
  return {
    ...before,
    name: input.name ?? before.name,
    description: input.description ?? before.description,
    permissions: input.permissions ? uniq(input.permissions).sort() : before.permissions,
    denials: input.denials ? uniq(input.denials).sort() : before.denials,
    locationIds: input.locationIds ? uniq(input.locationIds).sort() : before.locationIds,
    mfaRequired: input.mfaRequired ?? before.mfaRequired,
    mustExpire: input.mustExpire ?? before.mustExpire,
  };
}

const addedDenials = (before: GroupRecord, after: Pick<GroupRecord, 'denials'>) => after.denials.filter((p) => !before.denials.includes(p));

/**
 * What changing a group needs: `group.manage` at every location of its scope before and after,
 * every permission it allows afterwards and every denial the change removes. A denial added to a
 * group that is granted narrows its holders, so it needs, where they hold the group, the denied
 * permission and the authority to take back everything else they hold there (narrowing.ts).
 */
export async function requireGroupUpdateAuthority(db: Db, actor: Granter, before: GroupRecord, planned: GroupRecord, now: number): Promise<void> {
  const touched = uniq([...before.locationIds, ...planned.locationIds]).sort();
  const refusal = { action: 'group.update', targetType: 'group', targetId: before.id };
  const { removedDenials } = groupChangeWidens(shapeOf(before), shapeOf(planned));
  requireAuthority(actor, touched, 'group.manage', uniq<Permission>([...planned.permissions, ...removedDenials]), now, refusal,
    'You can only change a group where you manage groups and hold every permission it allows and every denial you remove.');
  const added = addedDenials(before, planned);
  if (added.length === 0) return;
  for (const holding of await groupHoldings(db, before.id, now)) {
    requireAuthority(actor, holding.locationIds, 'group.manage', added, now, refusal,
      'You can only add a denial to a granted group where you hold the denied permission.');
    await requireNarrowAuthority(db, actor, holding, now, refusal, { exceptGroupId: before.id });
  }
}

/**
 * Whether a group change needs a second person (`group.sensitive`): it creates or widens a group
 * allowing a sensitive permission (`groupChangeNeedsApproval`), or it adds a denial of a sensitive
 * permission that one of its holders holds where they hold the group.
 */
export async function groupUpdateNeedsSecondPerson(db: Db, before: GroupRecord, planned: GroupRecord, now: number): Promise<boolean> {
  if (groupChangeNeedsApproval(shapeOf(before), shapeOf(planned))) return true;
  const added = addedDenials(before, planned);
  return added.length > 0 && (await sensitiveDenialsHeld(db, await groupHoldings(db, before.id, now), added, now)).length > 0;
}

export async function applyGroupUpdate(trx: Db, actor: Granter, groupId: string, input: GroupUpdate, now: number): Promise<{ before: GroupRecord; after: GroupRecord }> {
  const before = await requireGroup(trx, groupId);
  const planned = groupAfterUpdate(before, input);
  const touched = uniq([...before.locationIds, ...planned.locationIds]).sort();
  const widening = groupChangeWidens(shapeOf(before), shapeOf(planned));
  await requireGroupUpdateAuthority(trx, actor, before, planned, now);
  if (before.retiredAt !== null) throw conflict('The group is retired; create a new one.');
  if (input.expectedVersion !== undefined && input.expectedVersion !== before.version) {
    throw conflict(`The group changed since it was read (now version ${before.version}); read it again.`);
  }
  const both = planned.permissions.filter((p) => planned.denials.includes(p));
  if (both.length > 0) throw badRequest(both.map((p) => `denials: permission "${p}" is both allowed and denied`));
  if (planned.permissions.length === 0 && planned.denials.length === 0) throw badRequest(['permissions: a group allows or denies at least one permission']);
  await requireLocations(trx, planned.locationIds);
  if (planned.name !== before.name) await requireFreeName(trx, planned.name, groupId);
  const leaving = before.locationIds.filter((l) => !planned.locationIds.includes(l));
  const held = await activeGroupGrantLocations(trx, groupId, leaving, now);
  if (held.length > 0) throw conflict(`The group is granted at ${held.join(', ')}: revoke those grants before taking the locations out of its scope.`);

  const version = before.version + 1;
  // Guarded by the version read above: of two changes racing, the second updates nothing.
  const updated = await trx.updateTable('permission_groups').set({
    name: planned.name, description: planned.description, permissions: JSON.stringify(planned.permissions), denials: JSON.stringify(planned.denials),
    mfa_required: planned.mfaRequired ? 1 : 0, must_expire: planned.mustExpire ? 1 : 0, version, updated_at: now, updated_by: byOf(actor),
  }).where('id', '=', groupId).where('version', '=', before.version).executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) throw conflict('The group changed while this change was made; read it again.');
  if (input.locationIds) await writeScope(trx, groupId, planned.locationIds);
  const after = (await findGroup(trx, { id: groupId }))!;
  await auditPerLocation(trx, actor, 'group.update', groupId, touched, { before: shapeOf(before), after: shapeOf(after), version, widens: widening.widens }, now);
  return { before, after };
}

/**
 * The direct path of a change judged not to need a second person (REST `PATCH /groups/:id`):
 * applied only to the version judged, so a group edited between the judgement and this
 * transaction is a `conflict`, never an unapproved widening; and judged again here, so a holder
 * granted meanwhile is not narrowed of a sensitive permission without approval.
 */
export async function applyJudgedGroupUpdate(trx: Db, actor: Granter, judged: GroupRecord, input: GroupUpdate, now: number): Promise<{ before: GroupRecord; after: GroupRecord }> {
  const pinned = { ...input, expectedVersion: input.expectedVersion ?? judged.version };
  const current = await requireGroup(trx, judged.id);
  if (current.version === pinned.expectedVersion && await groupUpdateNeedsSecondPerson(trx, current, groupAfterUpdate(current, input), now)) {
    throw conflict('The group\u2019s holders changed since this change was judged: it now needs a second person\u2019s approval; send it again.');
  }
  return applyGroupUpdate(trx, actor, judged.id, pinned, now);
}

/**
 * Retires a group: it can no longer be granted, and its active grants are revoked (holders'
 * devices drop what they no longer see, as on any revocation). Retiring removes the group's
 * denials too, so the actor must hold them, as well as what it allows. Retiring a retired group
 * changes nothing.
 */
export async function applyGroupRetire(trx: Db, actor: Granter, groupId: string, now: number): Promise<{ group: GroupRecord; revokedGrantIds: string[]; changed: boolean }> {
  const before = await requireGroup(trx, groupId);
  requireAuthority(actor, before.locationIds, 'group.manage', uniq<Permission>([...before.permissions, ...before.denials]), now,
    { action: 'group.retire', targetType: 'group', targetId: groupId },
    'You can only retire a group where you manage groups and hold every permission it allows or denies.');
  if (before.retiredAt !== null) return { group: before, revokedGrantIds: [], changed: false };
  const by = byOf(actor);
  await trx.updateTable('permission_groups').set({ retired_at: now, retired_by: by, updated_at: now, updated_by: by, version: before.version + 1 })
    .where('id', '=', groupId).execute();
  const grants = await trx.selectFrom('grants').select(['id', 'user_id']).where('group_id', '=', groupId).where('revoked_at', 'is', null).execute();
  const revokedGrantIds = grants.map((g) => g.id).sort();
  if (grants.length > 0) {
    await trx.updateTable('grants').set({ revoked_at: now, revoked_by: by }).where('group_id', '=', groupId).where('revoked_at', 'is', null).execute();
    const locs = await trx.selectFrom('grant_locations').select(['grant_id', 'location_id']).where('grant_id', 'in', revokedGrantIds).execute();
    await appendAuditEntries(trx, locs.map((l) => ({ actor: actor.actor, event: {
      action: 'grant.revoke', outcome: 'ok' as const, targetType: 'grant', targetId: l.grant_id, locationId: l.location_id,
      details: { userId: grants.find((g) => g.id === l.grant_id)?.user_id, groupId, groupName: before.name, reason: 'group.retire' },
    } })), now);
  }
  const group = (await findGroup(trx, { id: groupId }))!;
  await auditPerLocation(trx, actor, 'group.retire', groupId, before.locationIds, { ...shapeOf(before), revokedGrantIds }, now);
  return { group, revokedGrantIds, changed: true };
}
