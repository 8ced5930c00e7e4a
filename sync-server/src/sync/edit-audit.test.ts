/**
 * An edit's audit entry says what the value was and what it became, so a dispute ("who moved
 * this stop to failed, and from what?") can be settled from the log alone; customer details are
 * named but never valued. Pushed over REST to a real server, SQLite and PostgreSQL.
 */
import type { PushResponse } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, mutationId, rest, type World } from '../../test/world';

describe.each(backends)('old and new values in edit audit entries (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 3);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  /** Pushes as the dispatcher and reads back, through the REST audit trail, the entry of the mutation. */
  async function pushAndReadEntry(mutation: Record<string, unknown>): Promise<{ action: string; targetId: string; details: Record<string, unknown> }> {
    const m = { id: mutationId(), locationId: w.A, createdAt: w.ctx.now(), ...mutation };
    const pushed = await rest(w, 'POST', '/sync/push', w.users.dispatcher.token, { mutations: [m] });
    expect((pushed.body as unknown as PushResponse).results[0]).toMatchObject({ status: 'applied' });
    const trail = await rest(w, 'GET', `/locations/${w.A}/audit?limit=1000`, w.users.manager.token);
    const entries = trail.body!.entries as { action: string; targetId: string; details: Record<string, unknown> }[];
    const mine = entries.filter((e) => e.details.mutationId === m.id);
    expect(mine).toHaveLength(1);
    return mine[0]!;
  }

  it('a status change records the status before and after', async () => {
    const stopId = w.stops.A2[0]!.id;
    expect((await pushAndReadEntry({ type: 'stop.setStatus', stopId, to: 'en_route' })).details)
      .toMatchObject({ status: { from: 'planned', to: 'en_route' } });
    const second = await pushAndReadEntry({ type: 'stop.setStatus', stopId, to: 'failed', failureReason: 'customer_absent', reason: 'nobody home' });
    // The reason code is operational; the free-text note is kept (encrypted) on the stop, only its presence in the log.
    expect(second).toMatchObject({ action: 'stop.setStatus', targetId: stopId, details: { status: { from: 'en_route', to: 'failed' }, failureReason: 'customer_absent', failureNote: true } });
    expect(JSON.stringify(second)).not.toContain('nobody home');
  });

  it('a reassignment records driver and vehicle before and after', async () => {
    const first = await pushAndReadEntry({ type: 'route.assign', routeId: w.routes.A2, driverId: w.driverRecordId, vehicleId: w.vehicleA });
    expect(first.details).toMatchObject({ driverId: { from: w.otherDriverRecordId, to: w.driverRecordId }, vehicleId: { from: null, to: w.vehicleA } });
    const second = await pushAndReadEntry({ type: 'route.assign', routeId: w.routes.A2, driverId: null, vehicleId: w.vehicleA });
    expect(second.details).toMatchObject({ driverId: { from: w.driverRecordId, to: null }, vehicleId: { from: w.vehicleA, to: w.vehicleA } });
  });

  it('a time window, order or ETA change records both values; customer details are named, never valued', async () => {
    const stop = w.stops.A1[2]!;
    const window = { start: 1_800_007_200_000, end: 1_800_010_800_000 };
    const entry = await pushAndReadEntry({
      type: 'stop.update', stopId: stop.id,
      changes: { window, sequence: 0, eta: 1_800_008_000_000, phone: '+49 30 5550199', address: '9 Neue Strasse, Berlin' },
    });
    expect(entry.details).toEqual({
      mutationId: entry.details.mutationId,
      fields: ['address', 'eta', 'phone', 'sequence', 'window'],
      routeId: w.routes.A1,
      sequence: { from: 2, to: 0 },
      window: { from: { start: 1_800_000_000_000, end: 1_800_003_600_000 }, to: window },
      eta: { from: null, to: 1_800_008_000_000 },
    });
    const stored = JSON.stringify(await w.ctx.db.selectFrom('audit_log').select('details').execute());
    for (const pii of ['5550199', 'Neue Strasse', stop.phone, stop.address, stop.customerName, stop.notes]) expect(stored).not.toContain(pii);
  });

  it('a notes edit names the field only', async () => {
    const entry = await pushAndReadEntry({ type: 'stop.editNotes', stopId: w.stops.A1[0]!.id, notes: 'ring twice, code 1234' });
    expect(entry.details).toEqual({ mutationId: entry.details.mutationId, fields: ['notes'] });
  });
});
