import crypto from 'node:crypto';
import type { Permission } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialWorld, credentialWorld, dayMs, operator, registerIntegration } from '../../test/credential-fixtures';
import { buildUser, restCall } from '../../test/factories';
import { backends } from '../../test/harness';
import { openSession } from '../../test/world';
import { createGrant } from '../access/grants';
import { applyGroupCreate } from '../access/groups';

/**
 * No escalation through credentials and webhooks: a user who may manage an integration
 * (`integration.manage`, here through an "integrators" group) but lacks what a credential or a
 * receiver would let the outside system do or see cannot make one. Each attempt answers 403,
 * stores nothing and is audited as refused.
 */
describe.each(backends)('credential and webhook authority (%s)', (backend) => {
  let w: CredentialWorld;
  let integrator: string;
  /** orders.write, orders.read at A; data profile with phone and customer name (approved earlier). */
  let wideId: string;
  /** status.read at A; default data profile. */
  let narrowId: string;
  const tag = () => crypto.randomBytes(4).toString('hex');
  const asIntegrator = (method: string, path: string, body?: unknown) => restCall(w.server.url, method, path, { token: integrator, body });

  beforeAll(async () => {
    w = await credentialWorld(backend);
    // integration.manage and the right to see addresses, but not stop.edit nor phones.
    const permissions: Permission[] = ['location.read', 'stop.readCustomer', 'integration.manage'];
    const group = await w.ctx.db.transaction().execute((trx) => applyGroupCreate(trx, operator, {
      name: `integrators-${tag()}`, description: '', permissions, denials: [], locationIds: [w.A], mfaRequired: false, mustExpire: false,
    }, w.ctx.now()));
    const u = await buildUser(w.ctx, {});
    await createGrant(w.ctx, operator, { userId: u.id, groupId: group.id, locationIds: [w.A], expiresAt: null });
    integrator = (await openSession(w.ctx, u.id)).token;
    wideId = await registerIntegration(w.ctx, `wide-${tag()}`, [{ locationId: w.A, permissions: ['orders.write', 'orders.read'] }]);
    await w.ctx.db.updateTable('integrations').set({ data_profile: JSON.stringify(['orderRef', 'status', 'timeWindow', 'address', 'phone', 'customerName']) })
      .where('id', '=', wideId).execute();
    narrowId = await registerIntegration(w.ctx, `narrow-${tag()}`, [{ locationId: w.A, permissions: ['status.read'] }]);
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const count = async (table: 'api_keys' | 'oauth_clients' | 'webhook_subscriptions', integrationId: string) =>
    Number((await w.ctx.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('integration_id', '=', integrationId).executeTakeFirstOrThrow()).n);
  const refusals = async (action: string) =>
    (await w.ctx.db.selectFrom('audit_log').select(['outcome', 'details']).where('action', '=', action).where('outcome', '<>', 'ok').execute()).length;
  const expectForbidden = (res: { status: number; body: Record<string, unknown> | null }, permission: string) => {
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.body)).toContain(permission);
  };
  const credential = (scopes: string[]) => ({ name: 'mine', scopes, expiresAt: w.clock.now() + 10 * dayMs });

  it('an API key that would write orders or read phones is refused without stop.edit or stop.readPhone; nothing is stored', async () => {
    const before = await refusals('integration.key.create');
    expectForbidden(await asIntegrator('POST', `/integrations/${wideId}/keys`, credential(['orders.write'])), 'stop.edit');
    expectForbidden(await asIntegrator('POST', `/integrations/${wideId}/keys`, credential(['orders.read'])), 'stop.readPhone');
    expect(await count('api_keys', wideId)).toBe(0);
    expect(await refusals('integration.key.create')).toBe(before + 2);
    // What the integrator holds themselves they may hand out.
    expect((await asIntegrator('POST', `/integrations/${narrowId}/keys`, credential(['status.read']))).status).toBe(201);
  });

  it('rotating a key made by a full admin needs the same rights as making it', async () => {
    const key = await w.makeKey({ integrationId: wideId, scopes: ['orders.write'] });
    expectForbidden(await asIntegrator('POST', `/integrations/${wideId}/keys/${key.id}/rotate`, { oldEndsAt: w.clock.now() + dayMs }), 'stop.edit');
    expect(await count('api_keys', wideId)).toBe(1);
    // Revoking takes access away: integration.manage is enough.
    expect((await asIntegrator('POST', `/integrations/${wideId}/keys/${key.id}/revoke`, {})).status).toBe(200);
  });

  it('an OAuth client is refused the same way, and its rotation too', async () => {
    expectForbidden(await asIntegrator('POST', `/integrations/${wideId}/oauth-clients`, credential(['orders.read'])), 'stop.readPhone');
    expect(await count('oauth_clients', wideId)).toBe(0);
    const made = await w.asAdmin('POST', `/integrations/${wideId}/oauth-clients`, credential(['orders.write']));
    expect(made.status).toBe(201);
    const clientId = (made.body!.client as { id: string }).id;
    expectForbidden(await asIntegrator('POST', `/integrations/${wideId}/oauth-clients/${clientId}/rotate`, { oldEndsAt: w.clock.now() + dayMs }), 'stop.edit');
  });

  it('a webhook receiver of order events needs the rights over every field it would hear', async () => {
    const res = await asIntegrator('POST', `/integrations/${wideId}/webhooks`, { url: 'https://hooks.example.com/in', events: ['order.created'] });
    expectForbidden(res, 'stop.readPhone');
    expect(await count('webhook_subscriptions', wideId)).toBe(0);
    expect(await refusals('webhook.create')).toBeGreaterThan(0);
  });
});
