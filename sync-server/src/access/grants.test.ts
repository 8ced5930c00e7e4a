import type { PullResponse } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, connectSocket, emitAck, eventually, insertUser, openSession, rest, sleep, type World } from '../../test/world';
import { createGrant, revokeGrant } from './grants';

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

describe.each(backends)('grants (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 1);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('a manager grants the roles their template allows, at their own location only', async () => {
    const target = await insertUser(w.ctx, `new-${backend}-1`);
    const ok = await rest(w, 'POST', '/grants', w.users.manager.token, { userId: target, role: 'dispatcher', locationIds: [w.A] });
    expect(ok.status).toBe(201);
    const escalate = await rest(w, 'POST', '/grants', w.users.manager.token, { userId: target, role: 'admin', locationIds: [w.A] });
    expect(escalate).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const elsewhere = await rest(w, 'POST', '/grants', w.users.manager.token, { userId: target, role: 'reporting', locationIds: [w.A, w.B] });
    expect(elsewhere.status).toBe(403);
    const self = await rest(w, 'POST', '/grants', w.users.dispatcher.token, { userId: w.users.dispatcher.id, role: 'manager', locationIds: [w.A] });
    expect(self.status).toBe(403);
    const grants = await w.ctx.db.selectFrom('grants').select('role').where('user_id', '=', target).execute();
    expect(grants.map((g) => g.role)).toEqual(['dispatcher']);
  });

  it('contractor access must expire, and expiry in the past is refused', async () => {
    const target = await insertUser(w.ctx, `new-${backend}-2`);
    const noExpiry = await rest(w, 'POST', '/grants', w.users.admin.token, { userId: target, role: 'contractor', locationIds: [w.A] });
    expect(noExpiry).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    const past = await rest(w, 'POST', '/grants', w.users.admin.token, { userId: target, role: 'reporting', locationIds: [w.A], expiresAt: Date.now() - 1000 });
    expect(past.status).toBe(400);
    const ok = await rest(w, 'POST', '/grants', w.users.admin.token, { userId: target, role: 'contractor', locationIds: [w.A], expiresAt: Date.now() + 3_600_000 });
    expect(ok.status).toBe(201);
  });

  it('a grant that expires while a socket is open stops access on the spot and drops the location', async () => {
    const target = await insertUser(w.ctx, `new-${backend}-3`);
    // An earlier grant at A that was revoked must not make the later expiry look like a revocation.
    const earlier = await createGrant(w.ctx, operator, { userId: target, role: 'reporting', locationIds: [w.A] });
    await revokeGrant(w.ctx, operator, earlier.id);
    // Far enough out that session, socket and first pull fit before it on a loaded machine.
    const expiresAt = Date.now() + 3000;
    await createGrant(w.ctx, operator, { userId: target, role: 'contractor', locationIds: [w.A], expiresAt });
    const { token } = await openSession(w.ctx, target);
    const s = await connectSocket(w.server.url, token);
    const drops: unknown[] = [];
    s.on('sync:dropLocation', (p: unknown) => drops.push(p));
    try {
      expect((await emitAck<{ ok: boolean; data: PullResponse }>(s, 'sync:pull', { locationId: w.A, after: 0 })).ok).toBe(true);
      // Deliberately past the grant's expiry: the point is what the open socket meets after it.
      await sleep(Math.max(0, expiresAt + 100 - Date.now()));
      // Refused at once (expiry is re-checked on every use), before the watcher even runs.
      expect(await emitAck(s, 'sync:pull', { locationId: w.A, after: 0 })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(await eventually(() => drops.length > 0, 1500)).toBe(true);
      expect(drops).toEqual([{ locationId: w.A, reason: 'grant_expired' }]);
    } finally {
      s.close();
    }
  });

  it('revoking a grant over REST is audited and refused to those who may not', async () => {
    const target = await insertUser(w.ctx, `new-${backend}-4`);
    const g = await createGrant(w.ctx, operator, { userId: target, role: 'reporting', locationIds: [w.A] });
    const denied = await rest(w, 'DELETE', `/grants/${g.id}`, w.dispatcherB.token);
    expect(denied.status).toBe(404);
    const ok = await rest(w, 'DELETE', `/grants/${g.id}`, w.users.manager.token);
    expect(ok.status).toBe(204);
    const audit = await w.ctx.db.selectFrom('audit_log').select(['action', 'outcome', 'actor']).where('target_id', '=', g.id).orderBy('seq').execute();
    expect(audit).toEqual([
      { action: 'grant.create', outcome: 'ok', actor: 'test' },
      { action: 'grant.revoke', outcome: 'denied', actor: 'dispatcher-b' },
      { action: 'grant.revoke', outcome: 'ok', actor: 'manager-a' },
    ]);
  });

  it('an admin of one depot cannot end the sessions of another depot\'s staff', async () => {
    const victim = await openSession(w.ctx, w.dispatcherB.id);
    const refused = await rest(w, 'DELETE', `/sessions/${victim.sessionId}`, w.users.admin.token);
    expect(refused).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const row = await w.ctx.db.selectFrom('sessions').select('revoked_at').where('id', '=', victim.sessionId).executeTakeFirstOrThrow();
    expect(row.revoked_at).toBeNull();
    const denied = await w.ctx.db.selectFrom('audit_log').select('outcome').where('action', '=', 'session.revoke').where('target_id', '=', victim.sessionId).execute();
    expect(denied).toEqual([{ outcome: 'denied' }]);
    // At their own depot it works.
    const own = await openSession(w.ctx, w.users.finance.id);
    expect((await rest(w, 'DELETE', `/sessions/${own.sessionId}`, w.users.admin.token)).status).toBe(204);
  });

  it('a grant over several locations is audited at each of them', async () => {
    const target = await insertUser(w.ctx, `new-${backend}-5`);
    const g = await createGrant(w.ctx, operator, { userId: target, role: 'reporting', locationIds: [w.A, w.B] });
    const rows = await w.ctx.db.selectFrom('audit_log').select(['action', 'location_id']).where('target_id', '=', g.id).orderBy('location_id').execute();
    expect(rows).toEqual([{ action: 'grant.create', location_id: w.A }, { action: 'grant.create', location_id: w.B }]);
    const trailB = await rest(w, 'GET', `/locations/${w.B}/audit?limit=1000`, w.dispatcherB.token);
    expect(trailB.status).toBe(403); // dispatchers do not read the audit trail
    const trailA = await rest(w, 'GET', `/locations/${w.A}/audit?limit=1000`, w.users.manager.token);
    expect(JSON.stringify(trailA.body)).toContain(g.id);
  });
});
