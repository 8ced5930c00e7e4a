import { type Permission, profileFieldPermission, profileWidening } from '@depotline/shared';
import { AccessRefused } from '../../access/authority';
import type { Db } from '../../db/database';
import { findIntegration, integrationLocations } from '../../integrations/records';
import { applyIntegrationProfile } from '../../integrations/registry';
import { requireIntegrationAuthority } from '../../integrations/scopes';
import type { SensitiveActionHandler } from '../action';

/**
 * `integration.profile`: a data profile that turns on contact or billing fields
 * (`sensitiveProfileFields`) for an integration. The requester must be able to make the change
 * themselves (integrations/scopes.ts); the approver must hold `integration.manage` and the
 * permission revealing each field turned on, at every location the integration holds a scope
 * at. The request names the integration's version: if it changed since, the request is stale.
 */
export const integrationProfile: SensitiveActionHandler<'integration.profile'> = {
  async touches(db, change) {
    const integration = await findIntegration(db, { id: change.integrationId });
    return integration ? integrationLocations(integration) : [];
  },
  async handsOut(db, change) {
    const integration = await findIntegration(db, { id: change.integrationId });
    const added = profileWidening(integration?.dataProfile ?? [], change.dataProfile);
    return [...new Set<Permission>(['integration.manage', ...added.map((f) => profileFieldPermission[f])])].sort();
  },
  subjectUserId: () => null,
  async mayRequest(db, requester, change, now) {
    const integration = await findIntegration(db, { id: change.integrationId });
    if (!integration) return 'the integration does not exist';
    try {
      requireIntegrationAuthority({ kind: 'user', actor: requester.actor, profile: requester.profile }, integration,
        { scopes: integration.scopes, dataProfile: change.dataProfile }, now, { action: 'approval.request', targetId: integration.id });
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
    return profileWidening(integration.dataProfile, change.dataProfile).length === 0 ? 'the profile no longer turns on a contact or billing field' : null;
  },
  async summary(db: Db, change) {
    const integration = await findIntegration(db, { id: change.integrationId });
    if (!integration) return 'Change the data profile of an integration that no longer exists.';
    const added = profileWidening(integration.dataProfile, change.dataProfile);
    const removed = integration.dataProfile.filter((f) => !change.dataProfile.includes(f));
    return `Let the integration "${integration.name}" (${integration.kind}) receive ${added.join(', ')} of orders at ${integrationLocations(integration).join(', ')}`
      + `${removed.length > 0 ? `, and stop sending ${removed.join(', ')}` : ''}. Afterwards it receives ${change.dataProfile.join(', ')}.`;
  },
  async apply({ trx, requester, requesterProfile, approvalId, now }, change) {
    const after = await applyIntegrationProfile(trx, { kind: 'user', actor: requester, profile: requesterProfile }, change, now, approvalId);
    return { integrationId: after.id, version: after.version, dataProfile: after.dataProfile, approvalId };
  },
};
