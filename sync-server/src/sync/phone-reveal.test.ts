/**
 * Revealing a customer's phone number is a sensitive read: a `stop.revealPhone` mutation that
 * changes nothing, audited once with the time the user revealed it, refused (and audited) for
 * anyone who may not read phones there. Real sockets, real server, SQLite and PostgreSQL.
 */
import type { MutationResult, PushResponse } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, connectSocket, emitAck, mutationId, rest, sleep, type World } from '../../test/world';

type AckOk<T> = { ok: true; data: T };

function reveal(locationId: string, stopId: string, createdAt: number, id = mutationId()) {
  return { id, locationId, createdAt, type: 'stop.revealPhone' as const, stopId };
}

describe.each(backends)('phone reveal (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 2);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  const entriesFor = (mutationIdValue: string) =>
    w.ctx.db.selectFrom('audit_log').selectAll().where('details', 'like', `%${mutationIdValue}%`).orderBy('seq').execute();
  const stopRow = (id: string) => w.ctx.db.selectFrom('stops').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  async function push(token: string, mutations: unknown[]): Promise<MutationResult[]> {
    const socket = await connectSocket(w.server.url, token);
    try {
      const res = await emitAck<AckOk<PushResponse>>(socket, 'sync:push', { mutations });
      expect(res.ok).toBe(true);
      return res.data.results;
    } finally {
      socket.close();
    }
  }

  it('is audited with the time it happened and the time it arrived, and changes nothing', async () => {
    const stop = w.stops.A2[0]!;
    const before = await stopRow(stop.id);
    const versionBefore = await w.ctx.db.selectFrom('locations').select('version').where('id', '=', w.A).executeTakeFirstOrThrow();
    // Revealed two hours ago on a console that was offline since.
    const revealedAt = w.ctx.now() - 2 * 3_600_000;
    const m = reveal(w.A, stop.id, revealedAt);
    const watcher = await connectSocket(w.server.url, w.users.manager.token);
    try {
      const [result] = await push(w.users.dispatcher.token, [m]);
      expect(result).toEqual({ id: m.id, status: 'applied', version: before.version });
      await sleep(150);
      expect(watcher.received).toEqual([]); // nothing changed, so nothing is broadcast
    } finally {
      watcher.close();
    }
    expect(await stopRow(stop.id)).toEqual(before);
    expect(await w.ctx.db.selectFrom('locations').select('version').where('id', '=', w.A).executeTakeFirstOrThrow()).toEqual(versionBefore);

    const [entry, ...more] = await entriesFor(m.id);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      action: 'stop.revealPhone', outcome: 'ok', actor: w.users.dispatcher.username, actor_user_id: w.users.dispatcher.id,
      target_type: 'stop', target_id: stop.id, location_id: w.A,
    });
    expect(JSON.parse(entry!.details)).toEqual({ mutationId: m.id, stopId: stop.id, revealedAt });
    expect(Number(entry!.at)).toBeGreaterThan(revealedAt);
    expect(entry!.details).not.toContain(stop.phone);

    // The location's auditors read it over REST like any other entry.
    const trail = await rest(w, 'GET', `/locations/${w.A}/audit?limit=1000`, w.users.manager.token);
    expect((trail.body!.entries as { action: string; targetId: string }[]).some((e) => e.action === 'stop.revealPhone' && e.targetId === stop.id)).toBe(true);
  });

  it('a replayed reveal is answered duplicate and audited exactly once', async () => {
    const stop = w.stops.A2[1]!;
    const m = reveal(w.A, stop.id, w.ctx.now() - 60_000);
    const [first] = await push(w.users.dispatcher.token, [m]);
    expect(first!.status).toBe('applied');
    // The console lost the answer and sends it again, twice in one push and once more later.
    const again = await push(w.users.dispatcher.token, [m, m]);
    const later = await push(w.users.dispatcher.token, [m]);
    for (const r of [...again, ...later]) expect(r).toEqual({ id: m.id, status: 'duplicate', version: (first as { version: number }).version });
    expect((await entriesFor(m.id)).map((e) => e.action)).toEqual(['stop.revealPhone']);
  });

  it('a user without stop.readPhone is refused, audited as denied, and sees no phone', async () => {
    const stop = w.stops.A1[0]!;
    for (const role of ['finance', 'reporting'] as const) {
      const m = reveal(w.A, stop.id, w.ctx.now());
      const [result] = await push(w.users[role].token, [m]);
      expect(result).toMatchObject({ id: m.id, status: 'rejected', code: 'forbidden', current: null });
      expect(JSON.stringify(result)).not.toContain(stop.phone);
      const denied = await w.ctx.db.selectFrom('audit_log').selectAll()
        .where('action', '=', 'stop.revealPhone').where('actor_user_id', '=', w.users[role].id).execute();
      expect(denied).toHaveLength(1);
      expect(denied[0]).toMatchObject({ outcome: 'denied', target_type: 'stop', target_id: stop.id, location_id: w.A });
      expect(JSON.parse(denied[0]!.details)).toEqual({ permission: 'stop.readPhone' });
      // The id was released: a refusal leaves nothing claimed.
      expect(await w.ctx.db.selectFrom('applied_mutations').select('id').where('id', '=', m.id).executeTakeFirst()).toBeUndefined();
    }
  });

  it('a driver reveals phones of their own route only; another depot\u2019s stop is refused', async () => {
    const own = reveal(w.A, w.stops.A1[1]!.id, w.ctx.now());
    const other = reveal(w.A, w.stops.A2[0]!.id, w.ctx.now());
    const [ownResult, otherResult] = await push(w.users.driver.token, [own, other]);
    expect(ownResult!.status).toBe('applied');
    expect(otherResult).toMatchObject({ status: 'rejected', code: 'forbidden' });

    // A dispatcher at A naming B's stop under A is "not found"; naming it under B is forbidden.
    const underA = reveal(w.A, w.stops.B1[0]!.id, w.ctx.now());
    const underB = reveal(w.B, w.stops.B1[0]!.id, w.ctx.now());
    const [a, b] = await push(w.users.dispatcher.token, [underA, underB]);
    expect(a).toMatchObject({ status: 'rejected', code: 'not_found', current: null });
    expect(b).toMatchObject({ status: 'rejected', code: 'forbidden' });
    expect((await entriesFor(underA.id)).map((e) => [e.action, e.outcome])).toEqual([['mutation.rejected', 'failed']]);
  });
});
