/**
 * The do-not-sell-or-share flag in the integration API's order reads (the same egress filter as
 * webhooks): real HTTP, real API keys. The shop that created the order keeps receiving the
 * customer's details; another shop reading every order at the depot does not; a courier does.
 */
import type { IntegrationStopView, ProfileField } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialWorld, credentialWorld, registerIntegration } from '../../test/credential-fixtures';
import { restCall } from '../../test/factories';
import { backends } from '../../test/harness';

const contact: ProfileField[] = ['orderRef', 'status', 'customerName', 'address', 'phone', 'email'];

describe.each(backends)('do not sell or share in order reads (%s)', (backend) => {
  let w: CredentialWorld;
  const keys: Record<'creator' | 'otherShop' | 'courier', string> = { creator: '', otherShop: '', courier: '' };

  beforeAll(async () => {
    w = await credentialWorld(backend);
    const otherShop = await registerIntegration(w.ctx, 'market-place', [{ locationId: w.A, permissions: ['orders.read'] }], { orderVisibility: 'location' });
    const courier = await registerIntegration(w.ctx, 'last-mile', [{ locationId: w.A, permissions: ['orders.read'] }], { kind: 'courier', orderVisibility: 'location' });
    // Contact fields are turned on with a second admin's approval in the product; set here directly.
    for (const id of [w.shopId, otherShop, courier]) await w.ctx.db.updateTable('integrations').set({ data_profile: JSON.stringify(contact) }).where('id', '=', id).execute();
    keys.creator = (await w.makeKey({ scopes: ['orders.write', 'orders.read'] })).secret;
    keys.otherShop = (await w.makeKey({ integrationId: otherShop, scopes: ['orders.read'] })).secret;
    keys.courier = (await w.makeKey({ integrationId: courier, scopes: ['orders.read'] })).secret;
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const read = async (who: keyof typeof keys, orderRef: string) =>
    (await restCall(w.server.url, 'GET', `/locations/${w.A}/orders/${orderRef}`, { headers: { authorization: `Bearer ${keys[who]}` } })).body!.order as IntegrationStopView;
  const changes = async (who: keyof typeof keys) =>
    ((await restCall(w.server.url, 'GET', `/locations/${w.A}/order-changes`, { headers: { authorization: `Bearer ${keys[who]}` } })).body!.orders as IntegrationStopView[]);

  it('a flagged customer\'s name, address, phone and email reach the order\'s creator and the courier only', async () => {
    const start = w.clock.now() + 3_600_000;
    const created = await restCall(w.server.url, 'POST', `/locations/${w.A}/orders`, {
      headers: { authorization: `Bearer ${keys.creator}` },
      body: { orderRef: 'SO-DNS-1', customerName: 'Rosa Private', address: '9 Quiet Lane', phone: '+49 431 555 0199', email: 'rosa@example.test', timeWindow: { start, end: start + 3_600_000 } },
    });
    expect(created.status).toBe(201);
    expect((await read('otherShop', 'SO-DNS-1')).phone).toBe('+49 431 555 0199');

    const flagged = await w.asAdmin('POST', '/privacy/customers/sharing', { customer: { email: 'ROSA@example.test' }, locationId: w.A, doNotSell: true });
    expect(flagged.status).toBe(200);

    const other = await read('otherShop', 'SO-DNS-1');
    expect(other).toMatchObject({ orderRef: 'SO-DNS-1' });
    for (const k of ['customerName', 'address', 'phone', 'email']) expect(other).not.toHaveProperty(k);
    const listed = (await changes('otherShop')).find((o) => o.orderRef === 'SO-DNS-1')!;
    expect(JSON.stringify(listed)).not.toMatch(/Rosa|Quiet|0199|rosa@/);
    for (const who of ['creator', 'courier'] as const) {
      expect(await read(who, 'SO-DNS-1')).toMatchObject({ customerName: 'Rosa Private', phone: '+49 431 555 0199', email: 'rosa@example.test' });
    }
  });
});
