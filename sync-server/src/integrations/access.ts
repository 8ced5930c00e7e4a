import type { Permission } from '@depotline/shared';
import type { AccessProfile, LocationView } from '../access/access-profile';
import type { IntegrationRecord } from './records';

/**
 * What an integration's call may do, as the access profile the one authorizer reads
 * (`checkPermission` in access/authorize.ts), so machine calls are decided by the same code as
 * people's: at each location, the integration's scopes there intersected with the scopes of
 * the credential used. A key issued before the integration was narrowed loses what was taken
 * away; a key can never gain what the integration does not hold. Nothing here expires by
 * itself: the credential's own expiry was checked when it was authenticated.
 */
export function machineAccessProfile(integration: Pick<IntegrationRecord, 'id' | 'scopes'>, credentialScopes: readonly Permission[], now: number): AccessProfile {
  const held = new Set(credentialScopes);
  const byLocation = new Map<string, LocationView>();
  for (const scope of integration.scopes) {
    const general = new Set<Permission>(scope.permissions.filter((p) => held.has(p)));
    if (general.size === 0) continue;
    byLocation.set(scope.locationId, {
      locationId: scope.locationId, roles: new Set(), groups: new Set(), general, assigned: new Set(), denials: new Set(), expiresAt: null,
    });
  }
  return { userId: `integration:${integration.id}`, loadedAt: now, byLocation, groups: new Map() };
}
