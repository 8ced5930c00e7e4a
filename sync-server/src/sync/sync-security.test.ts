/**
 * Security rules of the sync protocol, tried the way an attacker or a careless client would,
 * with real socket.io-client connections to a real server on SQLite and on PostgreSQL.
 */
import type { Change, PullResponse, PushResponse, Stop } from '@depotline/shared';
import { SignJWT } from 'jose';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import {
  buildWorld, connectSocket, emitAck, eventually, mutationId, openSession, rest, sleep, type TestSocket, type World,
} from '../../test/world';
import { createGrant, revokeGrant } from '../access/grants';

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };
type AckOk<T> = { ok: true; data: T };
type AckErr = { ok: false; error: { code: string; message: string; issues?: string[] } };

const stopsIn = (changes: readonly unknown[]) => (changes as Change[]).filter((c): c is Extract<Change, { entity: 'stop' }> => c.entity === 'stop').map((c) => c.data);

async function pullAll(socket: TestSocket, locationId: string): Promise<Change[]> {
  const out: Change[] = [];
  let after = 0;
  for (;;) {
    const res = await emitAck<AckOk<PullResponse>>(socket, 'sync:pull', { locationId, after, limit: 2 });
    expect(res.ok).toBe(true);
    out.push(...res.data.changes);
    after = res.data.cursor;
    if (!res.data.hasMore) return out;
  }
}

describe.each(backends)('sync security (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 3);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('a location-A socket never sees a location-B change, live or pulled', async () => {
    const a = await connectSocket(w.server.url, w.users.dispatcher.token);
    const b = await connectSocket(w.server.url, w.dispatcherB.token);
    try {
      const res = await emitAck<AckOk<PushResponse>>(b, 'sync:push', { mutations: [
        { id: mutationId(), locationId: w.B, createdAt: Date.now(), type: 'stop.editNotes', stopId: w.stops.B1[0]!.id, notes: 'gate code 4711' },
      ] });
      expect(res.data.results[0]!.status).toBe('applied');
      // B's own console receives it; A's never does.
      expect(await eventually(() => b.received.length > 0)).toBe(true);
      await sleep(200);
      expect(a.received).toEqual([]);
      const pulled = await emitAck<AckErr>(a, 'sync:pull', { locationId: w.B, after: 0 });
      expect(pulled).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      const everythingA = JSON.stringify(await pullAll(a, w.A));
      for (const s of w.stops.B1) {
        expect(everythingA).not.toContain(s.id);
        expect(everythingA).not.toContain(s.customerName);
      }
    } finally {
      a.close();
      b.close();
    }
  });

  it('a finance session never receives delivery notes or phone numbers (pull and live)', async () => {
    const finance = await connectSocket(w.server.url, w.users.finance.token);
    const reporting = await connectSocket(w.server.url, w.users.reporting.token);
    const dispatcher = await connectSocket(w.server.url, w.users.dispatcher.token);
    try {
      const pulled = stopsIn(await pullAll(finance, w.A));
      expect(pulled.length).toBe(6);
      for (const s of pulled) {
        expect(s).not.toHaveProperty('notes');
        expect(s).not.toHaveProperty('phone');
        expect(s.customerName).toBeDefined();
      }
      const reported = stopsIn(await pullAll(reporting, w.A));
      for (const s of reported) {
        expect(Object.keys(s)).not.toEqual(expect.arrayContaining(['notes']));
        expect(s).not.toHaveProperty('phone');
        expect(s).not.toHaveProperty('customerName');
        expect(s).not.toHaveProperty('address');
      }
      const secret = `back door, dog bites ${Date.now()}`;
      await emitAck(dispatcher, 'sync:push', { mutations: [
        { id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.editNotes', stopId: w.stops.A2[1]!.id, notes: secret },
      ] });
      expect(await eventually(() => finance.received.length > 0 && dispatcher.received.length > 0)).toBe(true);
      expect(JSON.stringify(finance.received)).not.toContain(secret);
      expect(JSON.stringify(finance.received)).not.toContain(w.stops.A2[1]!.phone);
      expect(stopsIn(dispatcher.received)[0]!.notes).toBe(secret);
      // REST answers the same.
      const viaRest = await rest(w, 'GET', `/locations/${w.A}/changes?after=0`, w.users.finance.token);
      expect(JSON.stringify(viaRest.body)).not.toContain(secret);
    } finally {
      finance.close();
      reporting.close();
      dispatcher.close();
    }
  });

  it('a driver sees only the stops of routes assigned to them, with what they need to deliver', async () => {
    const driver = await connectSocket(w.server.url, w.users.driver.token);
    const dispatcher = await connectSocket(w.server.url, w.users.dispatcher.token);
    try {
      const all = await pullAll(driver, w.A);
      const stops = stopsIn(all);
      expect(new Set(stops.map((s) => s.routeId))).toEqual(new Set([w.routes.A1]));
      expect(stops.every((s) => s.phone !== undefined && s.notes !== undefined)).toBe(true);
      expect(all.some((c) => c.entity === 'route' && c.data.id === w.routes.A2)).toBe(false);
      expect(all.some((c) => c.entity === 'position')).toBe(false);

      await emitAck(dispatcher, 'sync:push', { mutations: [
        { id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.update', stopId: w.stops.A2[0]!.id, changes: { eta: 1_800_000_100_000 } },
        { id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.update', stopId: w.stops.A1[0]!.id, changes: { eta: 1_800_000_200_000 } },
      ] });
      expect(await eventually(() => driver.received.length > 0)).toBe(true);
      await sleep(150);
      const live = stopsIn(driver.received);
      expect(live.map((s) => s.id)).toEqual([w.stops.A1[0]!.id]);
      expect(live[0]!.notes).toBe(w.stops.A1[0]!.notes);
    } finally {
      driver.close();
      dispatcher.close();
    }
  });

  it('a status change on one console reaches another console of the location', async () => {
    const one = await connectSocket(w.server.url, w.users.dispatcher.token);
    const two = await connectSocket(w.server.url, w.users.manager.token);
    try {
      const started = Date.now();
      const res = await emitAck<AckOk<PushResponse>>(one, 'sync:push', { mutations: [
        { id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.setStatus', stopId: w.stops.A2[2]!.id, to: 'cancelled' },
      ] });
      expect(res.data.results[0]).toMatchObject({ status: 'applied' });
      expect(await eventually(() => stopsIn(two.received).some((s) => s.id === w.stops.A2[2]!.id && s.status === 'cancelled'), 1000)).toBe(true);
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      one.close();
      two.close();
    }
  });

  it('a replayed push applies once, even when two sockets race with the same id', async () => {
    const one = await connectSocket(w.server.url, w.users.dispatcher.token);
    const { token } = await openSession(w.ctx, w.users.dispatcher.id);
    const two = await connectSocket(w.server.url, token);
    try {
      const stopId = w.stops.A2[0]!.id;
      const m = { id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.editNotes', stopId, notes: 'ring twice' };
      const before = await changeCount(w, w.A);
      const [r1, r2] = await Promise.all([
        emitAck<AckOk<PushResponse>>(one, 'sync:push', { mutations: [m] }),
        emitAck<AckOk<PushResponse>>(two, 'sync:push', { mutations: [m] }),
      ]);
      const r3 = await emitAck<AckOk<PushResponse>>(one, 'sync:push', { mutations: [m] });
      const statuses = [r1.data.results[0]!.status, r2.data.results[0]!.status, r3.data.results[0]!.status].sort();
      expect(statuses).toEqual(['applied', 'duplicate', 'duplicate']);
      expect(await changeCount(w, w.A)).toBe(before + 1);
      const audits = await w.ctx.db.selectFrom('audit_log').select('seq').where('action', '=', 'stop.editNotes').where('details', 'like', `%${m.id}%`).execute();
      expect(audits).toHaveLength(1);
      // Another user reusing the id learns nothing and changes nothing.
      const other = await connectSocket(w.server.url, w.users.manager.token);
      const r4 = await emitAck<AckOk<PushResponse>>(other, 'sync:push', { mutations: [{ ...m, notes: 'overwrite' }] });
      other.close();
      expect(r4.data.results[0]).toMatchObject({ status: 'rejected', code: 'conflict', current: null });
      expect(await changeCount(w, w.A)).toBe(before + 1);
    } finally {
      one.close();
      two.close();
    }
  });

  it('a refused status change answers with the reason and the current server value', async () => {
    const s = await connectSocket(w.server.url, w.users.dispatcher.token);
    try {
      const stopId = w.stops.A2[2]!.id; // cancelled by an earlier test: final
      const res = await emitAck<AckOk<PushResponse>>(s, 'sync:push', { mutations: [
        { id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.setStatus', stopId, to: 'en_route' },
      ] });
      const result = res.data.results[0]!;
      expect(result).toMatchObject({ status: 'rejected', code: 'invalid_transition' });
      if (result.status !== 'rejected') throw new Error('unreachable');
      expect(result.current?.entity).toBe('stop');
      expect((result.current?.data as Stop).status).toBe('cancelled');
      const audited = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'mutation.rejected').where('target_id', '=', stopId).executeTakeFirst();
      expect(audited?.details).toContain('invalid_transition');
    } finally {
      s.close();
    }
  });

  it('a revoked session is cut off within one second, sockets included', async () => {
    const { sessionId, token } = await openSession(w.ctx, w.users.dispatcher.id);
    const s = await connectSocket(w.server.url, token);
    const ended: unknown[] = [];
    s.on('session:ended', (p: unknown) => ended.push(p));
    const disconnected = new Promise<number>((resolve) => s.on('disconnect', () => resolve(Date.now())));
    // As the admin CLI does it: straight in the database, from another process.
    const revokedAt = Date.now();
    await w.ctx.db.updateTable('sessions').set({ revoked_at: revokedAt, revoke_reason: 'admin' }).where('id', '=', sessionId).execute();
    const at = await Promise.race([disconnected, sleep(1500).then(() => -1)]);
    expect(at).toBeGreaterThan(0);
    expect(at - revokedAt).toBeLessThan(1000);
    expect(ended).toEqual([{ reason: 'revoked', wipe: true }]);
    const r = await rest(w, 'GET', `/locations/${w.A}/changes`, token);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: { code: 'session_revoked' } });
    await expect(connectSocket(w.server.url, token)).rejects.toThrow();
  });

  it('ending a grant drops the location from connected devices at once', async () => {
    const userId = w.users.contractor.id;
    const extra = await createGrant(w.ctx, operator, { userId, role: 'reporting', locationIds: [w.B] });
    const { token } = await openSession(w.ctx, userId);
    const s = await connectSocket(w.server.url, token);
    const drops: unknown[] = [];
    s.on('sync:dropLocation', (p: unknown) => drops.push(p));
    try {
      expect((await emitAck<AckOk<PullResponse>>(s, 'sync:pull', { locationId: w.B, after: 0 })).ok).toBe(true);
      await revokeGrant(w.ctx, operator, extra.id);
      expect(await eventually(() => drops.length > 0, 1000)).toBe(true);
      expect(drops).toEqual([{ locationId: w.B, reason: 'grant_revoked' }]);
      expect(await emitAck(s, 'sync:pull', { locationId: w.B, after: 0 })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      // Location A, from another grant, is untouched.
      expect((await emitAck<AckOk<PullResponse>>(s, 'sync:pull', { locationId: w.A, after: 0 })).ok).toBe(true);
    } finally {
      s.close();
    }
  });

  it('refuses sockets from other origins, without a token, or with a forged, expired or URL token', async () => {
    await expect(connectSocket(w.server.url, w.users.dispatcher.token, { origin: 'https://evil.example' })).rejects.toThrow();
    const ok = await connectSocket(w.server.url, w.users.dispatcher.token, { origin: 'app://depotline' });
    ok.close();

    const codeOf = async (opts: Parameters<typeof connect>[1]) => {
      const s = connect(w.server.url, { transports: ['websocket'], reconnection: false, forceNew: true, ...opts });
      try {
        return await new Promise<string>((resolve) => {
          s.once('connect', () => resolve('connected'));
          s.once('connect_error', (e: Error & { data?: { error?: { code?: string } } }) => resolve(e.data?.error?.code ?? e.message));
        });
      } finally {
        s.close();
      }
    };
    expect(await codeOf({})).toBe('unauthenticated');
    expect(await codeOf({ query: { token: w.users.dispatcher.token } })).toBe('unauthenticated');
    const forged = await new SignJWT({ sid: w.users.admin.sessionId, did: 'x' }).setProtectedHeader({ alg: 'HS256' })
      .setSubject(w.users.admin.id).setIssuer('depotline-sync-server').setAudience('depotline-api').setExpirationTime('5m')
      .sign(new TextEncoder().encode('not the server key, but 32 bytes!!'));
    expect(await codeOf({ auth: { token: forged } })).toBe('unauthenticated');
    const [h, p] = w.users.admin.token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    expect(await codeOf({ auth: { token: none } })).toBe('unauthenticated');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: w.dispatcherB.id })).toString('base64url')}.${w.users.admin.token.split('.')[2]}`;
    expect(await codeOf({ auth: { token: tampered } })).toBe('unauthenticated');
    const expired = await new SignJWT({ sid: w.users.admin.sessionId, did: 'x' }).setProtectedHeader({ alg: 'HS256' })
      .setSubject(w.users.admin.id).setIssuer('depotline-sync-server').setAudience('depotline-api').setIssuedAt(1000).setExpirationTime(2000)
      .sign(w.ctx.tokenKey);
    expect(await codeOf({ auth: { token: expired } })).toBe('unauthenticated');
  });

  it('malformed, unknown, wrong-type and oversized messages get typed errors and change nothing', async () => {
    const s = await connectSocket(w.server.url, w.users.dispatcher.token);
    const before = await changeCount(w, w.A);
    const auditBefore = await auditCount(w);
    try {
      expect(await emitAck(s, 'sync:pull', { locationId: 42 })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(await emitAck(s, 'sync:pull', 'not an object')).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(await emitAck(s, 'sync:push', { mutations: [{ type: 'stop.delete', id: 'x' }] })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(await emitAck(s, 'sync:push', { mutations: Array.from({ length: 201 }, () => ({})) })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(await emitAck(s, 'admin:dropTables', {})).toMatchObject({ ok: false, error: { code: 'unknown_event' } });
      expect(await emitAck(s, '__proto__', {})).toMatchObject({ ok: false, error: { code: 'unknown_event' } });
      s.emit('sync:push', { mutations: [] }); // no ack: dropped
      // A message over the size bound closes that connection; the server keeps serving.
      const big = await connectSocket(w.server.url, w.users.dispatcher.token);
      const closed = new Promise<void>((resolve) => big.on('disconnect', () => resolve()));
      big.emit('sync:push', { mutations: [{ notes: 'x'.repeat(400_000) }] }, () => {});
      await closed;
      expect((await emitAck<AckOk<unknown>>(s, 'sync:locations', {})).ok).toBe(true);
      expect(await changeCount(w, w.A)).toBe(before);
      expect(await auditCount(w)).toBe(auditBefore);
    } finally {
      s.close();
    }
  });

  it('REST answers bad input with typed errors and changes nothing', async () => {
    const before = await changeCount(w, w.A);
    const token = w.users.dispatcher.token;
    const post = (body: string, type = 'application/json') =>
      fetch(`${w.server.url}/api/v1/sync/push`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
    const notJson = await post('{"mutations": [');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'bad_request' } });
    const wrong = await post(JSON.stringify({ mutations: [{ type: 'stop.setStatus', id: 'nope' }] }));
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as AckErr['error'] & { error: { issues: string[] } }).error.issues.length).toBeGreaterThan(0);
    const huge = await post(JSON.stringify({ mutations: [{ notes: 'x'.repeat(300_000) }] }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    const noAuth = await rest(w, 'POST', '/sync/push', null, { mutations: [] });
    expect(noAuth.status).toBe(401);
    const unknown = await rest(w, 'GET', '/nothing-here', token);
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await changeCount(w, w.A)).toBe(before);
    const health = await fetch(`${w.server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(health.headers.get('x-powered-by')).toBeNull();
  });
});

async function changeCount(w: World, locationId: string): Promise<number> {
  const r = await w.ctx.db.selectFrom('changes').select((eb) => eb.fn.countAll<number>().as('n')).where('location_id', '=', locationId).executeTakeFirstOrThrow();
  return Number(r.n);
}

async function auditCount(w: World): Promise<number> {
  const r = await w.ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}
