import type { IntegrationHooksClient, IntegrationsClient } from '../../core';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { permissionsOf } from './console-views';
import type { DepotNames } from './governance-views';
import { refusalIn, translatorFor } from './server-refusal';

/** What an integration call needs: the clients, the user's depot names, where they manage integrations. */
export interface IntegrationsAccess {
  client: IntegrationsClient;
  hooks: IntegrationHooksClient;
  names: DepotNames;
  /** The depots where this user holds `integration.manage`. */
  managed: ReadonlySet<string>;
}

/**
 * The clients and the depot names, once `integration.manage` is held at the depot as this
 * computer last synced it: the hidden screen is refused here too (the server decides again).
 */
export async function integrationsAccess(session: ActiveSession, locationId: string): Promise<IntegrationsAccess> {
  const locations = await session.store.locations();
  const location = locations.find((l) => l.id === locationId);
  if (!location || !permissionsOf(location).has('integration.manage')) {
    throw new ConsoleError('forbidden', 'Your access at this depot does not include managing integrations.');
  }
  return {
    client: session.client.integrations,
    hooks: session.client.integrationHooks,
    names: new Map(locations.map((l) => [l.id, l.name])),
    managed: new Set(locations.filter((l) => permissionsOf(l).has('integration.manage')).map((l) => l.id)),
  };
}

export const profileNeedsApproval = 'Turning on customer contact or billing fields needs a second admin\u2019s approval. Say why the partner needs them, and send it as a request.';

const refusalWords = {
  approval_required: ['approval_required', profileNeedsApproval],
  forbidden: ['forbidden', 'The server did not let you do that: managing this integration needs integration.manage at every depot it works for.'],
  not_found: ['not_found', 'That integration, key or subscription no longer exists. Refresh the list.'],
} as const;

/**
 * The server's refusals on this screen, in words for the admin. Its own words are kept where they
 * name the rule (a key's expiry beyond the policy, a scope the integration does not hold); they
 * never carry a secret. Anything else goes to the console's common translation (console-error.ts).
 */
export const translate = translatorFor(refusalWords);

/** A server refusal as the console's error; anything else as it was. */
export const refusal = (err: unknown): unknown => refusalIn(refusalWords, err);
