import type { Change, PullResponse, PushResponse } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, mutationId, rest, type World } from '../../test/world';

describe.each(backends)('pull (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 5);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  async function pullAll(token: string, after = 0, limit = 3): Promise<{ changes: Change[]; cursor: number; pages: number }> {
    const changes: Change[] = [];
    let pages = 0;
    for (;;) {
      const r = await rest(w, 'GET', `/locations/${w.A}/changes?after=${after}&limit=${limit}`, token);
      expect(r.status).toBe(200);
      const page = r.body as unknown as PullResponse;
      pages++;
      changes.push(...page.changes);
      expect(page.cursor).toBeGreaterThanOrEqual(after);
      after = page.cursor;
      if (!page.hasMore) return { changes, cursor: after, pages };
    }
  }

  it('pages through the log in version order and sends each entity once, at its latest state', async () => {
    const token = w.users.dispatcher.token;
    const stopId = w.stops.A1[0]!.id;
    for (const notes of ['first', 'second', 'third']) {
      const r = await rest(w, 'POST', '/sync/push', token, { mutations: [{ id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.editNotes', stopId, notes }] });
      expect((r.body as unknown as PushResponse).results[0]!.status).toBe('applied');
    }
    const { changes, cursor, pages } = await pullAll(token);
    expect(pages).toBeGreaterThan(3);
    const versions = changes.map((c) => c.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    const stopChanges = changes.filter((c) => c.entity === 'stop' && c.data.id === stopId);
    expect(stopChanges).toHaveLength(1);
    expect(stopChanges[0]!.entity === 'stop' && stopChanges[0]!.data.notes).toBe('third');
    expect(changes.filter((c) => c.entity === 'stop')).toHaveLength(10);
    const version = (await w.ctx.db.selectFrom('locations').select('version').where('id', '=', w.A).executeTakeFirstOrThrow()).version;
    expect(cursor).toBe(version);
    // Caught up: nothing more, same cursor.
    const again = await pullAll(token, cursor);
    expect(again.changes).toEqual([]);
    expect(again.cursor).toBe(cursor);
  });

  it('rejects nonsense cursors and limits with bad_request', async () => {
    const token = w.users.dispatcher.token;
    expect((await rest(w, 'GET', `/locations/${w.A}/changes?after=-1`, token)).status).toBe(400);
    expect((await rest(w, 'GET', `/locations/${w.A}/changes?limit=100000`, token)).status).toBe(400);
    expect((await rest(w, 'GET', `/locations/${w.A}/changes?after=abc`, token)).status).toBe(400);
  });

  it('a route reassigned to a driver brings its stops to that driver, and takes them from the previous one', async () => {
    const driverToken = w.users.driver.token;
    const before = await pullAll(driverToken);
    expect(new Set(before.changes.filter((c) => c.entity === 'stop').map((c) => c.entity === 'stop' && c.data.routeId))).toEqual(new Set([w.routes.A1]));
    const r = await rest(w, 'POST', '/sync/push', w.users.dispatcher.token, { mutations: [
      { id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'route.assign', routeId: w.routes.A2, driverId: w.driverRecordId, vehicleId: w.vehicleA },
      { id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'route.assign', routeId: w.routes.A1, driverId: w.otherDriverRecordId, vehicleId: null },
    ] });
    expect((r.body as unknown as PushResponse).results.map((x) => x.status)).toEqual(['applied', 'applied']);
    const after = await pullAll(driverToken, before.cursor);
    const newStops = after.changes.filter((c) => c.entity === 'stop').map((c) => c.entity === 'stop' && c.data.routeId);
    expect(new Set(newStops)).toEqual(new Set([w.routes.A2]));
    expect(newStops).toHaveLength(5);
    expect(after.changes).toContainEqual(expect.objectContaining({ entity: 'removed', data: { kind: 'route', id: w.routes.A1 } }));
  });
});
