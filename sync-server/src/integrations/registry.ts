import crypto from 'node:crypto';
import {
  type IntegrationCreate, type IntegrationProfileChange, type IntegrationUpdate, isSensitiveProfileField, type MachinePermission, type ProfileField,
  profileWidening,
} from '@depotline/shared';
import type { Granter } from '../access/authority';
import { appendAuditEntries } from '../audit/audit-log';
import type { Db } from '../db/database';
import { badRequest, conflict, notFound } from '../errors';
import { findIntegration, integrationLocations, type IntegrationRecord } from './records';
import { type IntegrationShape, requireIntegrationAuthority } from './scopes';

/*
 * Registering and changing integrations (docs/security-model.md, "Integrations"). Each `apply*`
 * function checks and writes inside the caller's transaction, with its audit entries (one per
 * location, so each depot's trail shows what outside systems may do there), so the same code
 * serves a direct change and one applied on approval. A refusal throws `AccessRefused` (the
 * caller audits it) or a typed error; nothing is written then.
 *
 * Turning on a contact or billing field of the data profile (`profileWidening`), or widening
 * where an integration with such a field reads (`integrationWidening`), is never done here
 * directly for a user: `applyIntegrationUpdate` refuses it unless called with the approval's id
 * (or by the operator at the server's command line, trusted as for grants).
 */

const labelOf = (g: Granter) => g.actor.label;
// A concurrent create of the same name: PostgreSQL's unique_violation, SQLite's constraint code.
const isUniqueViolation = (err: unknown) => ['23505', 'SQLITE_CONSTRAINT_UNIQUE'].includes(String((err as { code?: unknown } | null)?.code));

/** What the audit log keeps of an integration: what it may do and receive, never the contact. */
const auditShape = (i: IntegrationShape & Partial<Pick<IntegrationRecord, 'ipAllowlist' | 'kind'>>) => ({
  ...(i.kind ? { kind: i.kind } : {}), scopes: i.scopes, dataProfile: i.dataProfile, ...(i.ipAllowlist ? { ipAllowlist: i.ipAllowlist } : {}),
});

async function auditPerLocation(trx: Db, granter: Granter, action: string, integrationId: string, locationIds: readonly string[], details: Record<string, unknown>, now: number): Promise<void> {
  await appendAuditEntries(trx, [...new Set(locationIds)].sort().map((locationId) => ({
    actor: granter.actor, event: { action, outcome: 'ok' as const, targetType: 'integration', targetId: integrationId, locationId, details },
  })), now);
}

async function requireLocations(trx: Db, locationIds: readonly string[]): Promise<void> {
  const found = await trx.selectFrom('locations').select('id').where('id', 'in', locationIds).execute();
  const missing = locationIds.filter((id) => !found.some((f) => f.id === id));
  if (missing.length > 0) throw badRequest(missing.map((id) => `scopes: no location "${id}"`));
}

async function writeScopes(trx: Db, integrationId: string, scopes: IntegrationRecord['scopes']): Promise<void> {
  await trx.deleteFrom('integration_scopes').where('integration_id', '=', integrationId).execute();
  const rows = scopes.flatMap((s) => s.permissions.map((permission) => ({ integration_id: integrationId, location_id: s.locationId, permission })));
  if (rows.length > 0) await trx.insertInto('integration_scopes').values(rows).execute();
}

const sortedScopes = (scopes: IntegrationCreate['scopes']): IntegrationRecord['scopes'] =>
  [...scopes].sort((a, b) => a.locationId.localeCompare(b.locationId)).map((s) => ({ locationId: s.locationId, permissions: [...new Set(s.permissions)].sort() }));

/** Loads an integration for a change, or answers as if it did not exist. */
export async function requireIntegration(trx: Db, integrationId: string): Promise<IntegrationRecord> {
  const found = await findIntegration(trx, { id: integrationId });
  if (!found) throw notFound('The integration');
  return found;
}

export async function applyIntegrationCreate(trx: Db, granter: Granter, input: IntegrationCreate, now: number): Promise<IntegrationRecord> {
  const scopes = sortedScopes(input.scopes);
  const after = { scopes, dataProfile: input.dataProfile };
  requireIntegrationAuthority(granter, null, after, now, { action: 'integration.create', targetId: input.name });
  // The schema refuses these already; kept so that no caller can register contact fields unasked.
  if (profileWidening([], input.dataProfile).length > 0) throw badRequest(['dataProfile: contact and billing fields need a second admin\u2019s approval']);
  await requireLocations(trx, integrationLocations(after));
  if (await findIntegration(trx, { name: input.name })) throw conflict(`An integration named "${input.name}" already exists.`);
  const id = crypto.randomUUID();
  try {
    await trx.insertInto('integrations').values({
      id, name: input.name, kind: input.kind, contact: input.contact, data_profile: JSON.stringify(input.dataProfile),
      ip_allowlist: JSON.stringify(input.ipAllowlist), auto_suspend_on_alert: input.autoSuspendOnAlert ? 1 : 0, order_visibility: input.orderVisibility,
      suspended_at: null, suspended_reason: null, suspended_by: null, version: 1,
      created_at: now, created_by: labelOf(granter), updated_at: now, updated_by: labelOf(granter),
    }).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`An integration named "${input.name}" already exists.`);
    throw err;
  }
  await writeScopes(trx, id, scopes);
  const created = (await findIntegration(trx, { id }))!;
  await auditPerLocation(trx, granter, 'integration.create', id, integrationLocations(created),
    { name: created.name, ...auditShape(created), autoSuspendOnAlert: created.autoSuspendOnAlert, orderVisibility: created.orderVisibility }, now);
  return created;
}

/** The integration as it would be after `update` (fields not given stay). */
export function integrationAfterUpdate(before: IntegrationRecord, update: IntegrationUpdate): IntegrationRecord {
  return {
    ...before,
    kind: update.kind ?? before.kind,
    contact: update.contact ?? before.contact,
    scopes: update.scopes ? sortedScopes(update.scopes) : before.scopes,
    dataProfile: update.dataProfile ?? before.dataProfile,
    ipAllowlist: update.ipAllowlist ?? before.ipAllowlist,
    autoSuspendOnAlert: update.autoSuspendOnAlert ?? before.autoSuspendOnAlert,
    orderVisibility: update.orderVisibility ?? before.orderVisibility,
  };
}

/** The contact and billing fields the update would turn on. */
export function updateWidensProfile(before: IntegrationRecord, update: IntegrationUpdate): ProfileField[] {
  return update.dataProfile ? profileWidening(before.dataProfile, update.dataProfile) : [];
}

/** The scopes that let an integration read orders (REST reads, webhooks). */
const readingScopes: readonly MachinePermission[] = ['orders.read', 'status.read', 'pod.read'];
const readsAt = (i: Pick<IntegrationRecord, 'scopes'>, locationId: string) =>
  i.scopes.find((s) => s.locationId === locationId)?.permissions.filter((p) => readingScopes.includes(p)) ?? [];

/** What a change widens that a second admin must approve (docs/security-model.md, "Integrations"). */
export interface IntegrationWidening {
  /** Contact and billing fields turned on. */
  fields: ProfileField[];
  /** Locations where an integration with contact or billing fields (before or after) gets a location or a reading scope. */
  locations: string[];
  /** `orderVisibility` from `own` to `location` with contact or billing fields. */
  allOrders: boolean;
}

export function integrationWidening(
  before: Pick<IntegrationRecord, 'scopes' | 'dataProfile' | 'orderVisibility'>, after: Pick<IntegrationRecord, 'scopes' | 'dataProfile' | 'orderVisibility'>,
): IntegrationWidening {
  const fields = profileWidening(before.dataProfile, after.dataProfile);
  const sensitive = [...before.dataProfile, ...after.dataProfile].some(isSensitiveProfileField);
  if (!sensitive) return { fields, locations: [], allOrders: false };
  const beforeLocations = integrationLocations(before);
  const locations = after.scopes.map((s) => s.locationId).filter((id) =>
    !beforeLocations.includes(id) || readsAt(after, id).some((p) => !readsAt(before, id).includes(p)));
  return { fields, locations, allOrders: before.orderVisibility === 'own' && after.orderVisibility === 'location' };
}

export const widens = (w: IntegrationWidening) => w.fields.length > 0 || w.locations.length > 0 || w.allOrders;

/** The widening in words, for refusals and approval summaries. */
export function wideningInWords(w: IntegrationWidening): string {
  return [
    ...(w.fields.length > 0 ? [`turning on ${w.fields.join(', ')}`] : []),
    ...(w.locations.length > 0 ? [`reading orders with contact or billing fields at ${w.locations.join(', ')}`] : []),
    ...(w.allOrders ? ['reading every order at its locations, not only its own, with contact or billing fields'] : []),
  ].join(', and ');
}

/**
 * Changes an integration. `approvalId` is given only when an approved `integration.profile`
 * applies a widening (`integrationWidening`); without it, a user's widening is refused (the
 * endpoint asks for approval before it gets here; the CLI's operator may widen directly,
 * audited). Narrowing the profile, the scopes, the order visibility or the allowlist is immediate.
 */
export async function applyIntegrationUpdate(
  trx: Db, granter: Granter, integrationId: string, update: IntegrationUpdate, now: number, approvalId: string | null = null,
): Promise<{ before: IntegrationRecord; after: IntegrationRecord }> {
  const before = await requireIntegration(trx, integrationId);
  const after = integrationAfterUpdate(before, update);
  requireIntegrationAuthority(granter, before, after, now, { action: 'integration.update', targetId: integrationId });
  if (update.expectedVersion !== undefined && update.expectedVersion !== before.version) {
    throw conflict(`The integration changed since you read it (version ${update.expectedVersion}, now ${before.version}); read it again.`);
  }
  const widened = integrationWidening(before, after);
  // The operator at the server's command line is trusted as for grants (audited as such); a user asks a second admin.
  if (widens(widened) && approvalId === null && granter.kind !== 'operator') {
    throw badRequest([`${wideningInWords(widened)} needs a second admin\u2019s approval (give a reason)`]);
  }
  if (update.scopes) await requireLocations(trx, integrationLocations(after));
  const r = await trx.updateTable('integrations').set({
    kind: after.kind, contact: after.contact, data_profile: JSON.stringify(after.dataProfile), ip_allowlist: JSON.stringify(after.ipAllowlist),
    auto_suspend_on_alert: after.autoSuspendOnAlert ? 1 : 0, order_visibility: after.orderVisibility, version: before.version + 1, updated_at: now, updated_by: labelOf(granter),
  }).where('id', '=', integrationId).where('version', '=', before.version).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw conflict('The integration changed at the same moment; read it again.');
  if (update.scopes) await writeScopes(trx, integrationId, after.scopes);
  const stored = (await findIntegration(trx, { id: integrationId }))!;
  const changed = (k: keyof IntegrationRecord) => JSON.stringify(before[k]) !== JSON.stringify(stored[k]);
  const details: Record<string, unknown> = { version: stored.version };
  for (const k of ['kind', 'scopes', 'dataProfile', 'ipAllowlist', 'autoSuspendOnAlert', 'orderVisibility'] as const) {
    if (changed(k)) details[k] = { from: before[k], to: stored[k] };
  }
  if (changed('contact')) details['contactChanged'] = true;
  if (approvalId !== null) details['approvalId'] = approvalId;
  await auditPerLocation(trx, granter, 'integration.update', integrationId, [...integrationLocations(before), ...integrationLocations(stored)], details, now);
  return { before, after: stored };
}

/** Applies an approved `integration.profile` change: the profile (scopes, order visibility) as asked, if the integration is as it was. */
export async function applyIntegrationProfile(trx: Db, granter: Granter, change: IntegrationProfileChange, now: number, approvalId: string): Promise<IntegrationRecord> {
  const update: IntegrationUpdate = {
    dataProfile: change.dataProfile, expectedVersion: change.version,
    ...(change.scopes ? { scopes: change.scopes } : {}), ...(change.orderVisibility ? { orderVisibility: change.orderVisibility } : {}),
  };
  const { after } = await applyIntegrationUpdate(trx, granter, change.integrationId, update, now, approvalId);
  return after;
}

/**
 * Suspends an integration: every call with any of its credentials is refused (403) until it is
 * resumed. Needs `integration.manage` at every location it holds a scope at.
 */
export async function applyIntegrationSuspend(trx: Db, granter: Granter, integrationId: string, reason: string, now: number): Promise<IntegrationRecord> {
  const before = await requireIntegration(trx, integrationId);
  requireIntegrationAuthority(granter, before, { scopes: [], dataProfile: [] }, now, { action: 'integration.suspend', targetId: integrationId });
  if (before.suspendedAt !== null) return before;
  await trx.updateTable('integrations').set({
    suspended_at: now, suspended_reason: reason, suspended_by: labelOf(granter), version: before.version + 1, updated_at: now, updated_by: labelOf(granter),
  }).where('id', '=', integrationId).execute();
  await auditPerLocation(trx, granter, 'integration.suspend', integrationId, integrationLocations(before), { reason }, now);
  return (await findIntegration(trx, { id: integrationId }))!;
}

export async function applyIntegrationResume(trx: Db, granter: Granter, integrationId: string, now: number): Promise<IntegrationRecord> {
  const before = await requireIntegration(trx, integrationId);
  requireIntegrationAuthority(granter, before, before, now, { action: 'integration.resume', targetId: integrationId });
  if (before.suspendedAt === null) return before;
  await trx.updateTable('integrations').set({
    suspended_at: null, suspended_reason: null, suspended_by: null, version: before.version + 1, updated_at: now, updated_by: labelOf(granter),
  }).where('id', '=', integrationId).execute();
  await auditPerLocation(trx, granter, 'integration.resume', integrationId, integrationLocations(before), { suspendedSince: before.suspendedAt }, now);
  return (await findIntegration(trx, { id: integrationId }))!;
}
