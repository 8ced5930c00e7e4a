import crypto from 'node:crypto';
import type { IntegrationStopView } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialWorld, credentialWorld } from '../../test/credential-fixtures';
import { restCall, type RestResult } from '../../test/factories';
import { backends } from '../../test/harness';
import { hashPin, revealPinForTracking } from './delivery-pin';

/**
 * An order that requires a delivery PIN, created and changed by a shop through the integration
 * API with a real API key: the server makes the PIN, the shop learns only that one is required,
 * an update keeps it and a shop turning the requirement off forgets it. SQLite and PostgreSQL.
 */
describe.each(backends)('delivery PIN through the integration orders API (%s)', (backend) => {
  let w: CredentialWorld;
  let key: string;
  const hour = 3_600_000;

  beforeAll(async () => {
    w = await credentialWorld(backend);
    key = (await w.makeKey({ scopes: ['orders.write', 'orders.read', 'status.read'] })).secret;
  }, 120_000);
  afterAll(async () => w?.dispose());

  const call = (method: string, path: string, body?: unknown): Promise<RestResult> =>
    restCall(w.server.url, method, path, { body, headers: { authorization: `Bearer ${key}` } });

  it('pinRequired makes a PIN on the server; the shop never receives it; an update keeps it; turning it off forgets it', async () => {
    const start = w.clock.now() + 2 * hour;
    const orderRef = `SO-PIN-${crypto.randomBytes(3).toString('hex')}`;
    const res = await call('POST', `/locations/${w.A}/orders`, {
      orderRef, customerName: 'Kim Door', address: '9 Pin Lane', timeWindow: { start, end: start + hour }, pinRequired: true,
    });
    expect(res.status).toBe(201);
    const view = res.body!.order as IntegrationStopView;
    expect(view.pinRequired).toBe(true);
    const pin = await revealPinForTracking(w.ctx, view.id);
    expect(pin).toMatch(/^\d{6}$/);
    const stored = await w.ctx.db.selectFrom('stops').select(['pin_hash']).where('id', '=', view.id).executeTakeFirstOrThrow();
    expect(stored.pin_hash).toBe(hashPin(w.ctx, view.id, pin!));
    expect(JSON.stringify(res.body)).not.toContain(stored.pin_hash);
    expect(JSON.stringify(res.body)).not.toContain(`"${pin}"`);

    expect((await call('PATCH', `/locations/${w.A}/orders/${orderRef}`, { parcelCount: 3 })).status).toBe(200);
    expect(await revealPinForTracking(w.ctx, view.id)).toBe(pin);
    const off = await call('PATCH', `/locations/${w.A}/orders/${orderRef}`, { pinRequired: false });
    expect(off.status).toBe(200);
    expect((off.body!.order as IntegrationStopView).pinRequired).toBe(false);
    expect(await revealPinForTracking(w.ctx, view.id)).toBeNull();
    // A field the schema does not know, such as a PIN chosen by the shop, is refused.
    expect((await call('PATCH', `/locations/${w.A}/orders/${orderRef}`, { pin: '123456' })).status).toBe(400);
  });
});
