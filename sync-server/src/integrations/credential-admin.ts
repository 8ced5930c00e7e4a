import type { MachinePermission } from '@depotline/shared';
import type { Granter } from '../access/authority';
import { appendAuditEntries } from '../audit/audit-log';
import type { Db } from '../db/database';
import { conflict, notFound } from '../errors';
import { integrationLocations, type IntegrationRecord } from './records';
import { requireIntegration } from './registry';
import { mayViewIntegration, requireIntegrationAuthority } from './scopes';

/*
 * What every change of an integration's credentials (API keys, OAuth clients) starts with: the
 * integration, and the authority to change it. Making, rotating or revoking a credential needs
 * `integration.manage` at every location the integration holds a scope at (as suspending it
 * does): a credential acts at all of them, so an admin of one depot cannot hand out access to
 * another. A caller who manages the integration nowhere is told it does not exist.
 *
 * A credential that works (a new one, a rotated one's new secret) is access handed out: its
 * maker must also hold what it lets the outside system do and see (`requireCredentialAuthority`).
 */

export async function integrationForCredentialChange(trx: Db, granter: Granter, integrationId: string, action: string, now: number): Promise<IntegrationRecord> {
  const integration = await requireIntegration(trx, integrationId);
  if (granter.kind === 'user' && !mayViewIntegration(granter.profile, integration, now)) throw notFound('The integration');
  // No scope after the change: integration.manage at every current location is what is checked.
  requireIntegrationAuthority(granter, integration, { scopes: [], dataProfile: [] }, now, { action, targetId: integrationId });
  return integration;
}

/**
 * No escalation through a credential: whoever makes or rotates one must hold, at every location
 * where it acts (the integration's scopes there that the credential carries), the counterpart of
 * each of those scopes (`stop.edit` for `orders.write`) and the permission showing each field of
 * the integration's data profile, as registering the integration needed
 * (`requireIntegrationAuthority`). Elsewhere `integration.manage` is enough. Throws `AccessRefused`.
 */
export function requireCredentialAuthority(
  granter: Granter, integration: IntegrationRecord, scopes: readonly MachinePermission[], action: string, now: number,
): void {
  const carried = integration.scopes
    .map((s) => ({ locationId: s.locationId, permissions: s.permissions.filter((p) => scopes.includes(p)) }))
    .filter((s) => s.permissions.length > 0);
  requireIntegrationAuthority(granter, integration, { scopes: carried, dataProfile: integration.dataProfile }, now, { action, targetId: integration.id });
}

/** One entry per location of the integration, so each depot's trail shows who can act there. */
export async function auditCredentialChange(
  trx: Db, granter: Granter, integration: IntegrationRecord, action: string, target: { type: 'api_key' | 'oauth_client'; id: string },
  details: Record<string, unknown>, now: number,
): Promise<void> {
  const locations = [...new Set(integrationLocations(integration))].sort();
  await appendAuditEntries(trx, (locations.length > 0 ? locations : [null]).map((locationId) => ({
    actor: granter.actor,
    event: { action, outcome: 'ok' as const, targetType: target.type, targetId: target.id, locationId, details: { integrationId: integration.id, ...details } },
  })), now);
}

/** Credentials an integration may hold at once that still work: enough for rotations, bounded against piling up. */
export const maxLiveCredentials = 20;

export function requireRoomForCredential(live: number, what: string): void {
  if (live >= maxLiveCredentials) {
    throw conflict(`The integration already has ${maxLiveCredentials} ${what} that still work; revoke one first.`);
  }
}

export const userIdOf = (granter: Granter): string | null => granter.actor.userId;
