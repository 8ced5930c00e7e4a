import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, type CredentialWorld, credentialWorld, readPath } from '../../test/credential-fixtures';
import { restCall } from '../../test/factories';
import { backends } from '../../test/harness';
import { eventually } from '../../test/world';

/**
 * The integration endpoint's checks before any handler runs, tried with a real API key over real
 * HTTP: a call from outside the allowlist, a suspended integration, a scope the key or the
 * integration does not hold, a location it does not work at. Each is refused 403 and audited as
 * the integration, and the call log has it.
 */
describe.each(backends)('integration endpoint pipeline (%s)', (backend) => {
  let w: CredentialWorld;
  let key: string;
  let shopName: string;

  beforeAll(async () => {
    w = await credentialWorld(backend);
    key = (await w.makeKey({ scopes: ['orders.read', 'status.read'] })).secret;
    shopName = (await w.ctx.db.selectFrom('integrations').select('name').where('id', '=', w.shopId).executeTakeFirstOrThrow()).name;
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const setShop = async (body: Record<string, unknown>) => {
    const res = await w.asAdmin('PATCH', `/integrations/${w.shopId}`, body);
    expect(res.status).toBe(200);
  };
  const refusals = async (reason: string) => (await auditRows(w.ctx, 'integration.call')).filter((r) => r.details['reason'] === reason);

  it('a call from outside the allowlist is refused and audited with the address; IPv4-mapped ranges match IPv4 callers', async () => {
    expect((await w.machine(readPath(w.A), key)).status).toBe(200);
    await setShop({ ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'] });
    const refused = await w.machine(readPath(w.A), key);
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(JSON.stringify(refused.body)).toContain('allowlist');
    const audited = await refusals('address not in the allowlist');
    expect(audited).toEqual([expect.objectContaining({ actor: `integration:${shopName}`, outcome: 'denied', target_id: w.shopId, ip: '127.0.0.1' })]);
    expect(audited[0]!.details).toMatchObject({ callerAddress: '127.0.0.1', route: '/api/v1/locations/:locationId/order-changes', method: 'GET' });
    // The refused call is in the integration's call log too (written in batches, so waited for).
    expect(await eventually(async () => (await w.ctx.db.selectFrom('integration_calls').select('status')
      .where('integration_id', '=', w.shopId).where('status', '=', 403).execute()).length > 0, 10_000)).toBe(true);

    await setShop({ ipAllowlist: ['::ffff:127.0.0.0/104'] });
    expect((await w.machine(readPath(w.A), key)).status).toBe(200);
    await setShop({ ipAllowlist: ['127.0.0.1'] });
    expect((await w.machine(readPath(w.A), key)).status).toBe(200);
    await setShop({ ipAllowlist: [] });
  });

  it('a suspended integration is refused with every key until resumed; the refusal is audited', async () => {
    expect((await w.asAdmin('POST', `/integrations/${w.shopId}/suspend`, { reason: 'key seen in a public repository' })).status).toBe(200);
    const refused = await w.machine(readPath(w.A), key);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('suspended');
    expect(await refusals('suspended')).toHaveLength(1);
    expect((await w.asAdmin('POST', `/integrations/${w.shopId}/resume`)).status).toBe(200);
    expect((await w.machine(readPath(w.A), key)).status).toBe(200);
  });

  it('a scope the key lacks, a location the integration does not work at, and a scope taken from the integration are refused', async () => {
    const start = w.clock.now() + 3_600_000;
    const order = { orderRef: 'SO-nope', customerName: 'Ada', address: '1 Quay', timeWindow: { start, end: start + 3_600_000 } };
    const write = await restCall(w.server.url, 'POST', `/locations/${w.A}/orders`, { headers: { authorization: `Bearer ${key}` }, body: order });
    expect(write).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await w.machine(readPath(w.B), key)).status).toBe(403);
    expect((await w.machine(readPath('no-such-depot'), key)).status).toBe(403);
    const scoped = await refusals('scope');
    expect(scoped.map((r) => r.details['permission'])).toEqual(['orders.write', 'orders.read', 'orders.read']);
    expect(await w.ctx.db.selectFrom('stops').select('id').where('order_ref', '=', 'SO-nope').execute()).toEqual([]);

    // Narrowing the integration narrows the keys it already issued, at once.
    await setShop({ scopes: [{ locationId: w.A, permissions: ['status.read', 'orders.write'] }] });
    expect((await w.machine(readPath(w.A), key)).status).toBe(403);
    await setShop({ scopes: [{ locationId: w.A, permissions: ['orders.write', 'orders.read', 'status.read'] }] });
    expect((await w.machine(readPath(w.A), key)).status).toBe(200);
  });
});
