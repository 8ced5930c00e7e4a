import { type IntegrationProfileChange, type Permission, profileFieldPermission, isSensitiveProfileField } from '@depotline/shared';
import { AccessRefused } from '../../access/authority';
import type { Db } from '../../db/database';
import { findIntegration, integrationLocations, type IntegrationRecord } from '../../integrations/records';
import { applyIntegrationProfile, integrationWidening, widens, wideningInWords } from '../../integrations/registry';
import { requireIntegrationAuthority } from '../../integrations/scopes';
import type { SensitiveActionHandler } from '../action';

/**
 * `integration.profile`: a change that lets an integration receive contact or billing fields
 * (`sensitiveProfileFields`) it did not receive: fields turned on, or, while its data profile
 * (before or after) holds such a field, a new location, a new reading scope at a location, or
 * every order at its locations instead of its own (`integrationWidening`). The requester must be
 * able to make the change themselves (integrations/scopes.ts); the approver must hold
 * `integration.manage` and the permission revealing each field newly sent (every contact and
 * billing field of the resulting profile when it reaches new locations or orders), at every
 * location the integration holds a scope at, before or after. The request names the
 * integration's version: if it changed since, the request is stale.
 */

const afterChange = (integration: IntegrationRecord, change: IntegrationProfileChange) => ({
  scopes: change.scopes ?? integration.scopes,
  dataProfile: change.dataProfile,
  orderVisibility: change.orderVisibility ?? integration.orderVisibility,
});

export const integrationProfile: SensitiveActionHandler<'integration.profile'> = {
  async touches(db, change) {
    const integration = await findIntegration(db, { id: change.integrationId });
    if (!integration) return [];
    return [...new Set([...integrationLocations(integration), ...(change.scopes ?? []).map((s) => s.locationId)])].sort();
  },
  async handsOut(db, change) {
    const integration = await findIntegration(db, { id: change.integrationId });
    if (!integration) return ['integration.manage'];
    const w = integrationWidening(integration, afterChange(integration, change));
    // New locations or orders: every contact or billing field of the profile reaches them.
    const sent = w.locations.length > 0 || w.allOrders ? change.dataProfile.filter(isSensitiveProfileField) : w.fields;
    return [...new Set<Permission>(['integration.manage', ...sent.map((f) => profileFieldPermission[f])])].sort();
  },
  subjectUserId: () => null,
  async mayRequest(db, requester, change, now) {
    const integration = await findIntegration(db, { id: change.integrationId });
    if (!integration) return 'the integration does not exist';
    try {
      requireIntegrationAuthority({ kind: 'user', actor: requester.actor, profile: requester.profile }, integration,
        afterChange(integration, change), now, { action: 'approval.request', targetId: integration.id });
      return null;
    } catch (err) {
      if (err instanceof AccessRefused) return `they lack ${err.request.permission} at ${err.request.locationId}`;
      throw err;
    }
  },
  async check(db, change) {
    const integration = await findIntegration(db, { id: change.integrationId });
    if (!integration) return 'the integration no longer exists';
    if (integration.version !== change.version) return `the integration changed since the request (version ${change.version}, now ${integration.version})`;
    return widens(integrationWidening(integration, afterChange(integration, change)))
      ? null : 'the change no longer lets the integration receive a contact or billing field it did not';
  },
  async summary(db: Db, change) {
    const integration = await findIntegration(db, { id: change.integrationId });
    if (!integration) return 'Change the data profile of an integration that no longer exists.';
    const after = afterChange(integration, change);
    const w = integrationWidening(integration, after);
    const removed = integration.dataProfile.filter((f) => !change.dataProfile.includes(f));
    const orders = after.orderVisibility === 'location' ? 'every order' : 'the orders it created';
    return `Let the integration "${integration.name}" (${integration.kind}): ${wideningInWords(w)}`
      + `${removed.length > 0 ? `; stop sending ${removed.join(', ')}` : ''}. Afterwards it receives ${change.dataProfile.join(', ')} of ${orders}`
      + ` at ${integrationLocations(after).join(', ')}.`;
  },
  async apply({ trx, requester, requesterProfile, approvalId, now }, change) {
    const after = await applyIntegrationProfile(trx, { kind: 'user', actor: requester, profile: requesterProfile }, change, now, approvalId);
    return { integrationId: after.id, version: after.version, dataProfile: after.dataProfile, locationIds: integrationLocations(after), orderVisibility: after.orderVisibility, approvalId };
  },
};
