import crypto from 'node:crypto';
import type { IntegrationStopView } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialWorld, credentialWorld } from '../../test/credential-fixtures';
import { restCall, type RestResult } from '../../test/factories';
import { backends } from '../../test/harness';
import { pseudonymiseStops } from '../retention/stop-erasure';

/**
 * A shop's copy of an order does not bring back the customer of an erased stop: after the
 * erasure, `PATCH /orders/:ref` with the customer's details or notes answers 409 and writes
 * nothing (not even the operational part of the same call); a call with operational fields only
 * still applies. Real HTTP, real API keys, SQLite and PostgreSQL.
 */
describe.each(backends)('integration order update of an erased stop (%s)', (backend) => {
  let w: CredentialWorld;
  let shopKey: string;
  const tag = () => crypto.randomBytes(4).toString('hex');
  const hour = 3_600_000;

  beforeAll(async () => {
    w = await credentialWorld(backend);
    shopKey = (await w.makeKey({ scopes: ['orders.write', 'orders.read', 'status.read'] })).secret;
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const call = (method: string, path: string, body?: unknown): Promise<RestResult> =>
    restCall(w.server.url, method, path, { body, headers: { authorization: `Bearer ${shopKey}` } });
  const stopRow = (id: string) => w.ctx.db.selectFrom('stops').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('the customer\u2019s details or notes sent again are refused with 409; a window alone is applied', async () => {
    const start = w.clock.now() + 2 * hour;
    const body = {
      orderRef: `SO-${tag()}`, customerName: 'Ada Lovelace', address: '12 Marsh Lane, Leeds', phone: '+44 113 496 0123',
      email: 'ada@example.test', notes: 'side door', timeWindow: { start, end: start + 2 * hour }, parcelCount: 1,
    };
    const made = await call('POST', `/locations/${w.A}/orders`, body);
    expect(made.status).toBe(201);
    const id = (made.body!.order as IntegrationStopView).id;
    await w.ctx.db.transaction().execute((trx) => pseudonymiseStops(trx, w.ctx, w.A, [id], w.ctx.now()));
    const erased = await stopRow(id);

    const moved = { start: start + hour, end: start + 3 * hour };
    for (const patch of [
      { customerName: body.customerName, phone: body.phone, email: body.email, address: body.address },
      { notes: body.notes },
      { timeWindow: moved, notes: body.notes },
    ]) {
      const res = await call('PATCH', `/locations/${w.A}/orders/${body.orderRef}`, patch);
      expect(res.status, JSON.stringify(Object.keys(patch))).toBe(409);
      expect(res.body).toMatchObject({ error: { code: 'conflict', message: expect.stringContaining('erased') as unknown } });
      expect(JSON.stringify(res.body)).not.toContain('Ada');
    }
    const after = await stopRow(id);
    expect(after).toEqual(erased);

    const res = await call('PATCH', `/locations/${w.A}/orders/${body.orderRef}`, { timeWindow: moved });
    expect(res.status).toBe(200);
    const moved2 = await stopRow(id);
    expect([Number(moved2.window_start), moved2.customer_name_enc, moved2.phone_enc, moved2.phone_bidx, moved2.email_bidx]).toEqual([moved.start, '', null, null, null]);
    const refusals = await w.ctx.db.selectFrom('audit_log').select('details').where('target_id', '=', id).where('outcome', '!=', 'ok').execute();
    expect(JSON.stringify(refusals)).not.toMatch(/Ada|Lovelace|496 0123|side door/);
  });
});
