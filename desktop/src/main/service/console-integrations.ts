import {
  MaxIntegrationKeys, MaxIntegrations, profileWidening,
  type BridgeArgs, type BridgeValue, type ConsoleIntegrationView, type ConsoleKeyView, type ConsoleOAuthClientView, type IntegrationProfileResult,
} from '@depotline/shared';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { toApprovalView } from './governance-views';
import { integrationsAccess, profileNeedsApproval, translate, type IntegrationsAccess } from './integration-access';
import { IntegrationHooks } from './integration-hooks';
import { toIntegrationView, toKeyView, toOAuthClientView } from './integration-views';

export interface ConsoleIntegrationsOptions {
  /** The unlocked session; throws ConsoleError `locked` or `not_signed_in` otherwise. */
  session: () => ActiveSession;
  /** A change on this screen counts as activity for the idle lock. */
  activity: () => void;
}

/**
 * The Integrations screen's calls (admins): the integrations at a depot, their data profile,
 * API keys and OAuth clients, asked of the server with this session's token (core/sync/integrations-client.ts);
 * webhooks and activity are in integration-hooks.ts. Each call first checks `integration.manage`
 * at the depot as this computer last synced it, so the hidden screen is refused here too (the
 * server decides again). A new key's secret passes from the server's answer to the bridge's and
 * is kept nowhere: not in this object, not in the local database, not in a log.
 */
export class ConsoleIntegrations {
  readonly #o: ConsoleIntegrationsOptions;
  /** Webhook subscriptions and the activity logs. */
  readonly hooks: IntegrationHooks;

  constructor(options: ConsoleIntegrationsOptions) {
    this.#o = options;
    this.hooks = new IntegrationHooks({ access: (locationId) => this.#access(locationId), activity: options.activity });
  }

  #access(locationId: string): Promise<IntegrationsAccess> {
    return integrationsAccess(this.#o.session(), locationId);
  }

  async listIntegrations(args: BridgeArgs<'listIntegrations'>): Promise<ConsoleIntegrationView[]> {
    const { client, names, managed } = await this.#access(args.locationId);
    const list = await translate(client.list(args.locationId));
    return list.slice(0, MaxIntegrations).map((i) => toIntegrationView(i, names, managed))
      .sort((a, b) => Number(a.suspended !== null) - Number(b.suspended !== null) || a.name.localeCompare(b.name));
  }

  async createIntegration(args: BridgeArgs<'createIntegration'>): Promise<ConsoleIntegrationView> {
    const { client, names, managed } = await this.#access(args.locationId);
    const f = args.integration;
    const made = await translate(client.create({
      name: args.name, kind: f.kind, contact: f.contact, ipAllowlist: f.ipAllowlist, autoSuspendOnAlert: f.autoSuspend,
      ...(f.orderVisibility ? { orderVisibility: f.orderVisibility } : {}),
      scopes: f.scopes.map((s) => ({ locationId: s.locationId, permissions: s.scopes })),
    }));
    return this.#done(toIntegrationView(made, names, managed));
  }

  async updateIntegration(args: BridgeArgs<'updateIntegration'>): Promise<ConsoleIntegrationView> {
    const { client, names, managed } = await this.#access(args.locationId);
    const f = args.integration;
    const held = await translate(client.update(args.integrationId, {
      kind: f.kind, contact: f.contact, ipAllowlist: f.ipAllowlist, autoSuspendOnAlert: f.autoSuspend, expectedVersion: args.expectedVersion,
      ...(f.orderVisibility ? { orderVisibility: f.orderVisibility } : {}),
      scopes: f.scopes.map((s) => ({ locationId: s.locationId, permissions: s.scopes })),
    }));
    if ('approval' in held) throw new ConsoleError('server_error', 'The server asked for approval of a change that does not widen the data profile. Refresh and try again.');
    return this.#done(toIntegrationView(held.applied, names, managed));
  }

  /**
   * Turning on a contact or billing field needs a second admin: asked without a reason, it is
   * refused here with `approval_required` (the screen asks why); with one, the server answers 202
   * and the request waits. Narrowing applies at once.
   */
  async setIntegrationProfile(args: BridgeArgs<'setIntegrationProfile'>): Promise<IntegrationProfileResult> {
    const { client, names, managed } = await this.#access(args.locationId);
    const current = await translate(client.get(args.integrationId));
    const widened = profileWidening(current.dataProfile, args.profile);
    if (widened.length > 0 && !args.reason) throw new ConsoleError('approval_required', profileNeedsApproval);
    const held = await translate(client.update(args.integrationId, {
      dataProfile: args.profile, expectedVersion: args.expectedVersion, ...(args.reason ? { reason: args.reason } : {}),
    }));
    return this.#done('approval' in held
      ? { outcome: 'pending_approval', approval: toApprovalView(held.approval, names) }
      : { outcome: 'applied', integration: toIntegrationView(held.applied, names, managed) });
  }

  async setIntegrationSuspended(args: BridgeArgs<'setIntegrationSuspended'>): Promise<ConsoleIntegrationView> {
    const { client, names, managed } = await this.#access(args.locationId);
    const changed = args.suspended
      ? await translate(client.suspend(args.integrationId, args.reason))
      : await translate(client.resume(args.integrationId));
    return this.#done(toIntegrationView(changed, names, managed));
  }

  /* ------------------------------------------------------------------------------- keys */

  async integrationKeys(args: BridgeArgs<'integrationKeys'>): Promise<ConsoleKeyView[]> {
    const { client } = await this.#access(args.locationId);
    const keys = await translate(client.keys(args.integrationId));
    return keys.slice(0, MaxIntegrationKeys).map(toKeyView).sort(keyOrder);
  }

  async createIntegrationKey(args: BridgeArgs<'createIntegrationKey'>): Promise<BridgeValue<'createIntegrationKey'>> {
    const { client } = await this.#access(args.locationId);
    const made = await translate(client.createKey(args.integrationId, { name: args.name, scopes: args.scopes, expiresAt: args.expiresAt }));
    return this.#done({ key: toKeyView(made.key), secret: made.secret });
  }

  async rotateIntegrationKey(args: BridgeArgs<'rotateIntegrationKey'>): Promise<BridgeValue<'rotateIntegrationKey'>> {
    const { client } = await this.#access(args.locationId);
    const made = await translate(client.rotateKey(args.integrationId, args.keyId, {
      oldEndsAt: args.oldEndsAt, ...(args.expiresAt !== undefined ? { expiresAt: args.expiresAt } : {}),
    }));
    return this.#done({ key: toKeyView(made.key), secret: made.secret });
  }

  async revokeIntegrationKey(args: BridgeArgs<'revokeIntegrationKey'>): Promise<ConsoleKeyView> {
    const { client } = await this.#access(args.locationId);
    return this.#done(toKeyView(await translate(client.revokeKey(args.integrationId, args.keyId))));
  }

  /* ---------------------------------------------------------------------- OAuth clients */

  async integrationOAuthClients(args: BridgeArgs<'integrationOAuthClients'>): Promise<ConsoleOAuthClientView[]> {
    const { client } = await this.#access(args.locationId);
    const clients = await translate(client.oauthClients(args.integrationId));
    return clients.slice(0, MaxIntegrationKeys).map(toOAuthClientView).sort(keyOrder);
  }

  async createOAuthClient(args: BridgeArgs<'createOAuthClient'>): Promise<BridgeValue<'createOAuthClient'>> {
    const { client } = await this.#access(args.locationId);
    const made = await translate(client.createOAuthClient(args.integrationId, { name: args.name, scopes: args.scopes, expiresAt: args.expiresAt }));
    return this.#done({ client: toOAuthClientView(made.client), secret: made.clientSecret });
  }

  async rotateOAuthClientSecret(args: BridgeArgs<'rotateOAuthClientSecret'>): Promise<BridgeValue<'rotateOAuthClientSecret'>> {
    const { client } = await this.#access(args.locationId);
    const made = await translate(client.rotateOAuthClient(args.integrationId, args.clientId, {
      oldEndsAt: args.oldEndsAt, ...(args.expiresAt !== undefined ? { expiresAt: args.expiresAt } : {}),
    }));
    return this.#done({ client: toOAuthClientView(made.client), secret: made.clientSecret });
  }

  async revokeOAuthClient(args: BridgeArgs<'revokeOAuthClient'>): Promise<ConsoleOAuthClientView> {
    const { client } = await this.#access(args.locationId);
    return this.#done(toOAuthClientView(await translate(client.revokeOAuthClient(args.integrationId, args.clientId))));
  }

  /* --------------------------------------------------------------------------- plumbing */

  #done<T>(value: T): T {
    this.#o.activity();
    return value;
  }
}

/** Working keys first, newest first within each status. */
const statusRank: Readonly<Record<ConsoleKeyView['status'], number>> = { active: 0, ending: 1, expired: 2, revoked: 3 };
const keyOrder = (a: { status: ConsoleKeyView['status']; createdAt: number }, b: { status: ConsoleKeyView['status']; createdAt: number }) => statusRank[a.status] - statusRank[b.status] || b.createdAt - a.createdAt;

