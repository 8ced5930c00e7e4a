import type { WebhookEventType } from '@depotline/shared';
import { viewAt } from '../access/access-profile';
import { AccessRefused, type Granter } from '../access/authority';
import type { Db } from '../db/database';
import { notFound } from '../errors';
import { integrationLocations, type IntegrationRecord } from '../integrations/records';
import { requireIntegration } from '../integrations/registry';
import { mayViewIntegration, requireIntegrationAuthority } from '../integrations/scopes';

/**
 * Who may see and change an integration's webhook subscriptions (docs/security-model.md
 * "Webhooks"). Seeing them needs `integration.manage` at one of the integration's locations
 * (elsewhere the integration does not exist: 404); changing them needs it at every location the
 * integration holds a scope at, as changing its credentials does: a receiver hears of all of
 * them (`change`; null: only reading). Subscribing a receiver to `security.alert` also needs `security.read` at each of them: an
 * admin passes on only the alerts they may read themselves. The operator (CLI) may do all.
 */
export async function integrationForWebhooks(
  db: Db, granter: Granter, integrationId: string, now: number, change: { action: string; events?: readonly WebhookEventType[] } | null,
): Promise<IntegrationRecord> {
  const integration = await requireIntegration(db, integrationId);
  if (granter.kind === 'operator') return integration;
  if (!mayViewIntegration(granter.profile, integration, now)) throw notFound('The integration');
  if (change === null) return integration;
  const { action, events = [] } = change;
  requireIntegrationAuthority(granter, integration, { scopes: [], dataProfile: [] }, now, { action, targetId: integrationId });
  if (events.includes('security.alert')) {
    for (const locationId of [...new Set(integrationLocations(integration))].sort()) {
      if (!viewAt(granter.profile, locationId, now)?.general.has('security.read')) {
        throw new AccessRefused(
          { action, permission: 'security.read', locationId, targetType: 'integration', targetId: integrationId },
          `Sending security alerts to an integration needs security.read at ${locationId}.`,
        );
      }
    }
  }
  return integration;
}
