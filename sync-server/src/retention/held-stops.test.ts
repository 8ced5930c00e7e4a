import type { Change, PullResponse } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, connectSocket, emitAck, insertUser, openSession, rest, type TestSocket, type World } from '../../test/world';
import { createGrant } from '../access/grants';
import { phoneKey } from '../privacy/blind-index';

/**
 * Desktops learn which stops a legal hold covers (`Stop.held`), so their local retention sweep
 * leaves them alone: placing a hold sends the covered stops, held, to connected consoles at once
 * (a real socket.io-client console); releasing it (a second admin's approval) gives them a new
 * version without the flag, sent live once the decision committed and in the pull. Both engines.
 */

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };
type StopChange = Extract<Change, { entity: 'stop' }>;

describe.each(backends)('legal holds reach desktops (%s)', (backend) => {
  let world: World;
  let admin2Token: string;
  const hold = { reason: 'claim 2026-301', owner: 'Legal: claims desk' };

  const versionOf = async () => Number((await world.ctx.db.selectFrom('locations').select('version').where('id', '=', world.A).executeTakeFirstOrThrow()).version);
  const liveStops = (s: TestSocket) => (s.received as Change[]).filter((c): c is StopChange => c.entity === 'stop');
  const pull = async (s: TestSocket, after: number) =>
    (await emitAck<{ ok: true; data: PullResponse }>(s, 'sync:pull', { locationId: world.A, after, limit: 1000 })).data.changes
      .filter((c): c is StopChange => c.entity === 'stop');

  beforeAll(async () => {
    world = await buildWorld(backend, 3);
    const id = await insertUser(world.ctx, 'admin-two');
    await createGrant(world.ctx, operator, { userId: id, role: 'admin', locationIds: [world.A] });
    admin2Token = (await openSession(world.ctx, id)).token;
  }, 120_000);
  afterAll(async () => world?.dispose());

  it('a stop hold sends that stop held to a connected console at a new version; its approved release sends it again, live, not held', async () => {
    const stop = world.stops.A1[0]!;
    const console = await connectSocket(world.server.url, world.users.dispatcher.token, { origin: 'app://depotline' });
    try {
      const before = await versionOf();
      const placed = await rest(world, 'POST', `/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'stop', stopId: stop.id, ...hold });
      expect(placed.status).toBe(201);
      await expect.poll(() => liveStops(console).map((c) => [c.data.id, c.data.held]), { timeout: 10_000 }).toEqual([[stop.id, true]]);
      const sent = liveStops(console)[0]!;
      expect(sent.version).toBe(before + 1);
      // The change log has the new version, so a console that was offline gets the same by pull.
      expect((await pull(console, before)).map((c) => [c.data.id, c.data.held, c.version])).toEqual([[stop.id, true, before + 1]]);
      // The rest of the depot is not held and was not sent again.
      const full = await pull(console, 0);
      expect(full.filter((c) => c.data.held === true).map((c) => c.data.id)).toEqual([stop.id]);

      const holdId = (placed.body as { hold: { id: string } }).hold.id;
      const asked = await rest(world, 'POST', `/legal-holds/${holdId}/release`, world.users.admin.token, { reason: 'claim settled' });
      expect(asked.status).toBe(202);
      const approvalId = (asked.body as { approval: { id: string } }).approval.id;
      // Nothing changes for desktops while the release waits for the second admin.
      expect(await pull(console, before + 1)).toEqual([]);
      expect((await rest(world, 'POST', `/approvals/${approvalId}/approve`, admin2Token, {})).status).toBe(200);
      // Live, once the decision committed, and in the pull.
      await expect.poll(() => liveStops(console).map((c) => [c.data.id, c.data.held ?? false]), { timeout: 10_000 }).toEqual([[stop.id, true], [stop.id, false]]);
      const afterRelease = await pull(console, before + 1);
      expect(afterRelease.map((c) => [c.data.id, c.data.held ?? false])).toEqual([[stop.id, false]]);
      expect(afterRelease[0]!.version).toBeGreaterThan(sent.version);
    } finally {
      console.disconnect();
    }
  });

  it('a customer hold marks that customer\u2019s stops (by the blind index of their phone), live, and no others', async () => {
    const mine = world.stops.A2[1]!;
    await world.ctx.db.updateTable('stops').set({ phone_bidx: phoneKey(world.ctx, mine.phone) }).where('id', '=', mine.id).execute();
    const console = await connectSocket(world.server.url, world.users.dispatcher.token, { origin: 'app://depotline' });
    try {
      const before = await versionOf();
      const placed = await rest(world, 'POST', `/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'customer', phone: mine.phone, ...hold });
      expect(placed.status).toBe(201);
      await expect.poll(() => liveStops(console).map((c) => [c.data.id, c.data.held, c.version]), { timeout: 10_000 }).toEqual([[mine.id, true, before + 1]]);
      const holdId = (placed.body as { hold: { id: string } }).hold.id;
      const asked = await rest(world, 'POST', `/legal-holds/${holdId}/release`, world.users.admin.token, { reason: 'claim settled' });
      expect((await rest(world, 'POST', `/approvals/${(asked.body as { approval: { id: string } }).approval.id}/approve`, admin2Token, {})).status).toBe(200);
      expect((await pull(console, before + 1)).map((c) => [c.data.id, c.data.held])).toEqual([[mine.id, undefined]]);
    } finally {
      console.disconnect();
    }
  });

  it('a location hold marks every stop of the depot, live, and of no other depot; releasing it unmarks them all', async () => {
    const aStops = [...world.stops.A1, ...world.stops.A2].map((s) => s.id).sort();
    const console = await connectSocket(world.server.url, world.users.dispatcher.token, { origin: 'app://depotline' });
    const other = await connectSocket(world.server.url, world.dispatcherB.token, { origin: 'app://depotline' });
    try {
      const before = await versionOf();
      const placed = await rest(world, 'POST', `/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'location', ...hold });
      expect(placed.status).toBe(201);
      await expect.poll(() => liveStops(console).filter((c) => c.data.held).map((c) => c.data.id).sort(), { timeout: 10_000 }).toEqual(aStops);
      // One version and one change-log entry per stop, consecutive.
      expect(liveStops(console).map((c) => c.version).sort((x, y) => x - y)).toEqual(aStops.map((_, i) => before + 1 + i));
      const entries = await world.ctx.db.selectFrom('changes').select(['entity', 'entity_id']).where('location_id', '=', world.A).where('version', '>', before).execute();
      expect(entries.map((e) => `${e.entity}:${e.entity_id}`).sort()).toEqual(aStops.map((id) => `stop:${id}`));
      expect(liveStops(other)).toEqual([]);

      const holdId = (placed.body as { hold: { id: string } }).hold.id;
      const asked = await rest(world, 'POST', `/legal-holds/${holdId}/release`, world.users.admin.token, { reason: 'inquiry closed' });
      expect((await rest(world, 'POST', `/approvals/${(asked.body as { approval: { id: string } }).approval.id}/approve`, admin2Token, {})).status).toBe(200);
      await expect.poll(() => liveStops(console).filter((c) => !c.data.held).map((c) => c.data.id).sort(), { timeout: 10_000 }).toEqual(aStops);
      const released = await pull(console, before + aStops.length);
      expect(released.map((c) => c.data.id).sort()).toEqual(aStops);
      expect(released.every((c) => c.data.held === undefined)).toBe(true);
    } finally {
      console.disconnect();
      other.disconnect();
    }
  });
});
