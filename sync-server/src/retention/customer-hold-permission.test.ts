import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, insertUser, openSession, rest, type World } from '../../test/world';
import { createGrant } from '../access/grants';
import { applyGroupCreate } from '../access/groups';

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

/**
 * A hold on a customer finds the customer by phone or email and answers 404 when they have no
 * stop at the location: that answer is a privacy search. So it needs `privacy.manage` besides
 * `legalHold.manage`; a group holding only the latter places holds on stops and locations but
 * gets the same 403 for a customer who has stops and one who has none, audited, nothing stored.
 * SQLite and PostgreSQL, real server.
 */
describe.each(backends)('a customer hold needs privacy.manage (%s)', (backend) => {
  let w: World;
  let keeper: { id: string; token: string };
  const hold = { reason: 'litigation 2026-17', owner: 'Legal' };
  const holdCount = async () => Number((await w.ctx.db.selectFrom('legal_holds').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    w = await buildWorld(backend, 2);
    const group = await w.ctx.db.transaction().execute((trx) => applyGroupCreate(trx, operator, {
      name: 'records keepers', description: '', permissions: ['location.read', 'legalHold.manage'], denials: [],
      locationIds: [w.A], mfaRequired: true, mustExpire: false,
    }, w.ctx.now()));
    const id = await insertUser(w.ctx, 'records-keeper');
    await createGrant(w.ctx, operator, { userId: id, groupId: group.id, locationIds: [w.A] });
    keeper = { id, token: (await openSession(w.ctx, id)).token };
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  it('legalHold.manage alone: a customer hold is 403 whether or not the phone has stops here; stop and location holds are placed', async () => {
    const before = await holdCount();
    const path = `/locations/${w.A}/legal-holds`;
    const known = await rest(w, 'POST', path, keeper.token, { scope: 'customer', phone: w.stops.A1[0]!.phone, ...hold });
    const unknown = await rest(w, 'POST', path, keeper.token, { scope: 'customer', phone: '+44 20 7946 0000', ...hold });
    const byEmail = await rest(w, 'POST', path, keeper.token, { scope: 'customer', email: 'nobody@example.test', ...hold });
    expect([known.status, unknown.status, byEmail.status]).toEqual([403, 403, 403]);
    expect(known.body).toEqual(unknown.body);
    expect(await holdCount()).toBe(before);
    const denied = await w.ctx.db.selectFrom('audit_log').select('details')
      .where('actor_user_id', '=', keeper.id).where('outcome', '=', 'denied').where('action', '=', 'legalHold.place').execute();
    expect(denied).toHaveLength(3);
    expect(denied.every((d) => String(d.details).includes('privacy.manage'))).toBe(true);
    expect(JSON.stringify(denied)).not.toContain(w.stops.A1[0]!.phone);

    expect((await rest(w, 'POST', path, keeper.token, { scope: 'stop', stopId: w.stops.A1[1]!.id, ...hold })).status).toBe(201);
    expect((await rest(w, 'POST', path, keeper.token, { scope: 'location', ...hold })).status).toBe(201);
    expect(await holdCount()).toBe(before + 2);
  });

  it('an admin (legalHold.manage and privacy.manage) places a customer hold', async () => {
    const placed = await rest(w, 'POST', `/locations/${w.A}/legal-holds`, w.users.admin.token, { scope: 'customer', phone: w.stops.A2[0]!.phone, ...hold });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ hold: { scope: 'customer', locationId: w.A } });
  });
});
