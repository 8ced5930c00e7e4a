/**
 * What the webhook tests share: an integration registered by the operator, a subscription made
 * through the REST API by an admin (as the console makes it), pushes of stop mutations by a
 * dispatcher, and reads of the outbox and attempt log.
 */
import { IntegrationCreate, type MachinePermission, type Mutation } from '@depotline/shared';
import type { ServerContext } from '../src/context';
import { applyIntegrationCreate } from '../src/integrations/registry';
import { testOperator } from './factories';
import { mutationId, rest, type World } from './world';

export async function registerIntegration(
  ctx: ServerContext, name: string, scopes: { locationId: string; permissions: MachinePermission[] }[], kind: IntegrationCreate['kind'] = 'courier',
): Promise<string> {
  // A courier partner delivering other people's orders: it hears of every order at its locations.
  const input = IntegrationCreate.parse({ name, kind, contact: 'ops@partner.example', scopes, orderVisibility: 'location' });
  return ctx.db.transaction().execute(async (trx) => (await applyIntegrationCreate(trx, { kind: 'operator', actor: testOperator }, input, ctx.now())).id);
}

export async function subscribe(w: World, integrationId: string, url: string, events: string[]): Promise<{ id: string; secret: string }> {
  const r = await rest(w, 'POST', `/integrations/${integrationId}/webhooks`, w.users.admin.token, { url, events });
  if (r.status !== 201) throw new Error(`subscribe: ${r.status} ${JSON.stringify(r.body)}`);
  const body = r.body as { subscription: { id: string }; secret: string };
  return { id: body.subscription.id, secret: body.secret };
}

export async function push(w: World, token: string, mutations: Record<string, unknown>[]): Promise<{ id: string; status: string }[]> {
  const r = await rest(w, 'POST', '/sync/push', token, {
    mutations: mutations.map((m) => ({ id: mutationId(), createdAt: w.ctx.now(), ...m }) as unknown as Mutation),
  });
  if (r.status !== 200) throw new Error(`push: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body as { results: { id: string; status: string }[] }).results;
}

export const setStatus = (locationId: string, stopId: string, to: string, extra: Record<string, unknown> = {}) =>
  ({ type: 'stop.setStatus', locationId, stopId, to, ...extra });

export async function deliveriesOf(ctx: ServerContext, subscriptionId: string) {
  return ctx.db.selectFrom('webhook_deliveries').selectAll().where('subscription_id', '=', subscriptionId).orderBy('created_at').orderBy('id').execute();
}

export async function attemptsOf(ctx: ServerContext, deliveryId: string) {
  return ctx.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('attempt').execute();
}

/** Test settings: loopback receivers allowed, a short poll so nothing waits for the default interval. */
export function webhookTestSettings(ctx: ServerContext, overrides: Partial<ServerContext['config']['webhooks']> = {}): void {
  ctx.config = { ...ctx.config, webhooks: { ...ctx.config.webhooks, allowLoopback: true, pollMs: 20, timeoutMs: 5_000, ...overrides } };
}
