import { describe, expect, it } from 'vitest';
import { bridgeCalls, type ApiKeyView, type IntegrationView } from '@depotline/shared';
import { toIntegrationView, toKeyView } from './integration-views';

const integration: IntegrationView = {
  id: 'int-1', name: 'swift-couriers', kind: 'courier', contact: 'Kim',
  scopes: [{ locationId: 'north', permissions: ['status.read'] }, { locationId: 'south', permissions: ['orders.read'] }],
  dataProfile: ['orderRef', 'status'], ipAllowlist: [], autoSuspendOnAlert: false, orderVisibility: 'own', suspendedAt: null, suspendedReason: null,
  createdAt: 1, createdBy: 'user:ada', updatedAt: 2, version: 3, warnings: ['No address allowlist: calls are accepted from any address.'],
};
const names = new Map([['north', 'North Depot']]);

describe('the Integrations screen\'s views', () => {
  it('an integration with a scope at a depot the user does not manage is read-only, that depot unnamed', () => {
    const view = toIntegrationView(integration, names, new Set(['north']));
    expect(view.editable).toBe(false);
    expect(view.scopes).toEqual([{ location: { id: 'north', name: 'North Depot' }, scopes: ['status.read'] }, { location: { id: 'south', name: null }, scopes: ['orders.read'] }]);
    expect(toIntegrationView(integration, names, new Set(['north', 'south'])).editable).toBe(true);
    expect(bridgeCalls.listIntegrations.result.safeParse([view]).success).toBe(true);
    expect(JSON.stringify(view)).not.toContain('user:ada');
  });

  it('a suspended integration says when and why', () => {
    const view = toIntegrationView({ ...integration, suspendedAt: 9, suspendedReason: 'leaked key' }, names, new Set(['north', 'south']));
    expect(view.suspended).toEqual({ at: 9, reason: 'leaked key' });
  });

  it('a key\'s view has no field that could carry its secret, whatever the server adds', () => {
    const key = {
      id: 'dlk_AbCdEfGh12345678', integrationId: 'int-1', name: 'till', scopes: ['orders.read'], status: 'active', createdAt: 1, createdBy: 'user:ada',
      expiresAt: 2, endsAt: null, replacedBy: null, revokedAt: null, lastUsedAt: 3, lastUsedIp: '203.0.113.9', secret: 'dlk_AbCdEfGh12345678_s3cr3t',
    } as ApiKeyView & { secret: string };
    const view = toKeyView(key);
    expect(Object.keys(view).sort()).toEqual(['createdAt', 'endsAt', 'expiresAt', 'id', 'lastUsedAt', 'lastUsedIp', 'name', 'revokedAt', 'scopes', 'status']);
    expect(JSON.stringify(view)).not.toContain('s3cr3t');
  });
});
