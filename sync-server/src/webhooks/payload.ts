import type { ConsentPurpose, ProfileField, WebhookEventType } from '@depotline/shared';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { presentStopForIntegration, sharedProfile, type StopSharing } from '../integrations/profile-filter';
import { presentStop, type StopRow } from '../sync/presenters';
import { openTrackingUrl } from '../tracking/links';

/**
 * A delivery's body, built when it is sent (Standard Webhooks payload: `{ type, timestamp, data }`).
 * The outbox holds ids only; the stop is read now, decrypted, and cut to the integration's data
 * profile by `presentStopForIntegration`, the one filter the integration API uses too. So a
 * profile narrowed after the event narrows what is still to be sent, a stop erased meanwhile is
 * sent as `stop: null`, and the database never holds a copy of what an integration was sent.
 *
 * The event's own facts are filtered by the same profile: a status change's `from`/`to` need the
 * `status` field, a failure's reason `failureReason`.
 */

export interface PayloadSource {
  id: string;
  /** The integration the delivery is for. */
  integration_id: string;
  event_type: string;
  location_id: string;
  stop_id: string | null;
  data: string;
  occurred_at: number;
}

/** Fields naming how to reach the customer: an integration needs one to be sent a tracking link's address. */
const contactFields: readonly ProfileField[] = ['customerName', 'phone', 'email'];

/** What a security alert tells its integration: kinds, rules and counts; ids only of the integration itself. */
const alertFacts = ['kind', 'rule', 'reason', 'suspendedIntegration'] as const;
const ownAlertIds = ['integrationId', 'credentialId', 'subscriptionId'] as const;

function alertFactsFor(stored: Record<string, unknown>, integrationId: string): Record<string, unknown> {
  const facts: Record<string, unknown> = {};
  for (const key of alertFacts) if (key in stored) facts[key] = stored[key];
  // Ids of another integration (its credential, its receiver) never reach this one.
  if (stored['integrationId'] === integrationId) for (const key of ownAlertIds) if (key in stored) facts[key] = stored[key];
  return facts;
}

function eventFacts(
  ctx: ServerContext, type: WebhookEventType, stored: Record<string, unknown>, profile: ReadonlySet<ProfileField>, integrationId: string,
): Record<string, unknown> {
  switch (type) {
    case 'stop.status_changed':
      return profile.has('status') ? { from: stored['from'] ?? null, to: stored['to'] ?? null } : {};
    case 'stop.failed':
      return profile.has('failureReason') ? { failureReason: stored['failureReason'] ?? null } : {};
    case 'security.alert':
      // Raised by the server itself: kinds, rules and the integration's own ids, never customer data.
      return alertFactsFor(stored, integrationId);
    case 'tracking_link.created':
      // The link's address, sealed in the outbox, opened now (tracking/links.ts): for the integration to send to its
      // customer. Whoever holds it sees the delivery PIN, so only an integration whose profile has a contact field gets it.
      return {
        trackingUrl: contactFields.some((f) => profile.has(f)) ? openTrackingUrl(ctx, stored) : null,
        expiresAt: typeof stored['expiresAt'] === 'number' ? new Date(stored['expiresAt']).toISOString() : null,
      };
    case 'pod.added':
      // The proof's id and kind (proofs/capture.ts): never its file or position.
      return { proofId: stored['proofId'] ?? null, kind: stored['kind'] ?? null, suspicious: stored['suspicious'] === true };
    case 'order.created': case 'stop.delivered':
      return {};
  }
}

/** The stops the deliveries name, read once for the batch (missing ones: erased or never there). */
export async function stopsOf(db: Db, deliveries: readonly PayloadSource[]): Promise<Map<string, StopRow>> {
  const ids = [...new Set(deliveries.flatMap((d) => (d.stop_id ? [d.stop_id] : [])))];
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('stops').selectAll().where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/** The customer's choices for the delivery's stop (webhooks/customer-choices.ts). */
export interface DeliveryCustomer {
  sharing: StopSharing;
  withdrawn: ReadonlySet<ConsentPurpose>;
}

/**
 * The profile a delivery is built with: the integration's, less what the customer's sharing flag
 * keeps from it (the egress filter's rule), and for a tracking link's event less the phone or
 * email whose channel the customer withdrew consent for.
 */
function deliveryProfile(type: WebhookEventType, profile: readonly ProfileField[], customer: DeliveryCustomer): ProfileField[] {
  const shared = sharedProfile(profile, customer.sharing);
  if (type !== 'tracking_link.created') return shared;
  return shared.filter((f) => !(f === 'phone' && customer.withdrawn.has('trackingSms')) && !(f === 'email' && customer.withdrawn.has('trackingEmail')));
}

/** The JSON body of one delivery for an integration with `profile`. */
export function webhookBody(
  ctx: ServerContext, d: PayloadSource, integrationProfile: readonly ProfileField[], stops: ReadonlyMap<string, StopRow>, customer: DeliveryCustomer,
): string {
  const type = d.event_type as WebhookEventType;
  const profile = deliveryProfile(type, integrationProfile, customer);
  const facts = eventFacts(ctx, type, JSON.parse(d.data) as Record<string, unknown>, new Set(profile), d.integration_id);
  const row = d.stop_id ? stops.get(d.stop_id) : undefined;
  const stop = row && row.location_id === d.location_id ? presentStopForIntegration(profile, presentStop(ctx, row), customer.sharing) : null;
  const data = d.stop_id === null ? { locationId: d.location_id, ...facts } : { locationId: d.location_id, stopId: d.stop_id, ...facts, stop };
  return JSON.stringify({ type, timestamp: new Date(Number(d.occurred_at)).toISOString(), data });
}
