import type { ConsentPurpose, WebhookEventType } from '@depotline/shared';
import type { Db } from '../db/database';
import type { StopSharing } from '../integrations/profile-filter';
import { doNotSellStops, trackingLinkRefused, withdrawnPurposes } from '../privacy/consents';
import type { StopRow } from '../sync/presenters';
import { orderOwners } from './outbox';

/**
 * What the customers of a batch of deliveries chose, read when the deliveries are sent (so a
 * choice made after an event was queued still counts): their do-not-sell-or-share flag, for the
 * egress filter, and the purposes they withdrew consent for (docs/security-model.md "Customer
 * consent and sharing"):
 *
 * - `deliveryNotifications` withdrawn: no `tracking_link.created`, and no event about the stop to
 *   an integration of kind `notifications` (it exists to message customers);
 * - `trackingSms` / `trackingEmail` withdrawn: `tracking_link.created` carries no phone / no
 *   email; both withdrawn: it is not sent.
 */
export interface CustomerChoices {
  sharing(integration: { id: string; kind: string }, stopId: string | null): StopSharing;
  withdrawn(stopId: string | null): ReadonlySet<ConsentPurpose>;
}

const none: ReadonlySet<ConsentPurpose> = new Set();

export async function customerChoicesOf(db: Db, stops: ReadonlyMap<string, StopRow>, integrationIds: readonly string[]): Promise<CustomerChoices> {
  const rows = [...stops.values()];
  const dns = rows.length === 0 ? new Set<string>() : await doNotSellStops(db, rows);
  const withdrawn = rows.length === 0 ? new Map<string, Set<ConsentPurpose>>() : await withdrawnPurposes(db, rows);
  const creators = await orderOwners(db, [...dns], integrationIds);
  return {
    sharing: (integration, stopId) => ({
      doNotSell: stopId !== null && dns.has(stopId),
      deliversStop: integration.kind === 'courier' || (stopId !== null && creators.has(`${integration.id} ${stopId}`)),
    }),
    withdrawn: (stopId) => (stopId === null ? none : withdrawn.get(stopId) ?? none),
  };
}

/** False when the customer's withdrawn consent means this event must not go to this integration at all. */
export function consentAllows(type: WebhookEventType, integrationKind: string, withdrawn: ReadonlySet<ConsentPurpose>): boolean {
  if (withdrawn.size === 0) return true;
  if (type === 'tracking_link.created') return !trackingLinkRefused(withdrawn);
  return !(withdrawn.has('deliveryNotifications') && integrationKind === 'notifications');
}
