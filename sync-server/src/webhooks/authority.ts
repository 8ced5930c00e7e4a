import { type WebhookEventType, webhookEventTypes } from '@depotline/shared';
import { viewAt } from '../access/access-profile';
import { AccessRefused, type Granter } from '../access/authority';
import type { Db } from '../db/database';
import { notFound } from '../errors';
import { integrationLocations, type IntegrationRecord } from '../integrations/records';
import { requireIntegration } from '../integrations/registry';
import { mayViewIntegration, requireIntegrationAuthority } from '../integrations/scopes';
import { scopesHear } from './outbox';

/**
 * Who may see and change an integration's webhook subscriptions (docs/security-model.md
 * "Webhooks"). Seeing them needs `integration.manage` at one of the integration's locations
 * (elsewhere the integration does not exist: 404); changing them needs it at every location the
 * integration holds a scope at, as changing its credentials does: a receiver hears of all of
 * them (`change`; null: only reading). No escalation: a change that makes or keeps a receiver
 * hearing (create, update, secret rotation, resume: all but pause and delete) also needs, at each
 * location, what a credential carrying the scopes that hear the events would need
 * (`requireIntegrationAuthority`: the counterpart of those scopes and the permission showing each
 * field of the data profile, which every order event carries). Events not named (a change of the
 * URL only): every event the integration can hear. Subscribing a receiver to `security.alert` also needs `security.read` at each of them: an
 * admin passes on only the alerts they may read themselves. The operator (CLI) may do all.
 */
/** Changes that only stop a receiver hearing: `integration.manage` is enough. */
const stopsHearing: ReadonlySet<string> = new Set(['webhook.pause', 'webhook.delete']);

export async function integrationForWebhooks(
  db: Db, granter: Granter, integrationId: string, now: number, change: { action: string; events?: readonly WebhookEventType[] } | null,
): Promise<IntegrationRecord> {
  const integration = await requireIntegration(db, integrationId);
  if (granter.kind === 'operator') return integration;
  if (!mayViewIntegration(granter.profile, integration, now)) throw notFound('The integration');
  if (change === null) return integration;
  const { action } = change;
  const events = change.events ?? (stopsHearing.has(action) ? [] : webhookEventTypes);
  const hearing = integration.scopes
    .map((s) => ({ locationId: s.locationId, permissions: s.permissions.filter((p) => events.some((e) => e !== 'security.alert' && scopesHear(e, new Set([p])))) }))
    .filter((s) => s.permissions.length > 0);
  requireIntegrationAuthority(granter, integration, { scopes: hearing, dataProfile: integration.dataProfile }, now, { action, targetId: integrationId });
  if (change.events?.includes('security.alert')) {
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
