import { checkDocumentTypes } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../../test/harness';
import { buildWorld, rest, type World } from '../../../test/world';

/**
 * The door endpoints (delivery PIN and regulated-goods checks) follow the driver's access to
 * their route as the proof endpoints do: once a completed route's grace period is over, its
 * driver gets 403 on its stops, as for a stop that is not theirs, the refusal audited, and
 * nothing is written (no PIN try counted, no check recorded). Before that, the same calls reach
 * the stop. SQLite and PostgreSQL, real server.
 */
describe.each(backends)('door endpoints after the driver\u2019s access ended (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 2);
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const endAccess = async (until: number) => {
    await w.ctx.db.updateTable('routes').set({ completed_at: until - 3_600_000, driver_access_until: until }).where('id', '=', w.routes.A1).execute();
  };
  const check = { kind: 'id', documentType: checkDocumentTypes[0], result: 'pass' };

  it('within the grace period the driver still reaches the stop', async () => {
    await endAccess(w.ctx.now() + 60_000);
    const stop = w.stops.A1[0]!;
    // The stop needs no PIN: an answer about the stop, so authorization let the driver through.
    const pin = await rest(w, 'POST', `/stops/${stop.id}/proof/pin`, w.users.driver.token, { pin: '123456' });
    expect(pin.status).toBe(409);
  });

  it('after it, the PIN and check endpoints answer 403 as for a stranger\u2019s stop, audited, nothing written', async () => {
    await endAccess(w.ctx.now() - 60_000);
    const stop = w.stops.A1[1]!;
    await w.ctx.db.updateTable('stops').set({ pin_required: 1, pin_hash: 'ff'.repeat(32), pin_failures: 0 }).where('id', '=', stop.id).execute();
    const pin = await rest(w, 'POST', `/stops/${stop.id}/proof/pin`, w.users.driver.token, { pin: '123456' });
    const checked = await rest(w, 'POST', `/stops/${stop.id}/proof/check`, w.users.driver.token, check);
    const unknown = await rest(w, 'POST', '/stops/no-such-stop/proof/pin', w.users.driver.token, { pin: '123456' });
    expect([pin.status, checked.status, unknown.status]).toEqual([403, 403, 403]);
    expect(pin.body).toEqual(unknown.body);
    const row = await w.ctx.db.selectFrom('stops').select(['pin_failures', 'check_passed']).where('id', '=', stop.id).executeTakeFirstOrThrow();
    expect([Number(row.pin_failures), row.check_passed]).toEqual([0, null]);
    expect(await w.ctx.db.selectFrom('delivery_checks').select('id').where('stop_id', '=', stop.id).execute()).toEqual([]);
    const denied = await w.ctx.db.selectFrom('audit_log').select('action')
      .where('actor_user_id', '=', w.users.driver.id).where('outcome', '=', 'denied').where('target_id', '=', stop.id).execute();
    expect(denied.map((d) => d.action).sort()).toEqual(['pod.check', 'pod.pin']);
  });
});
