/**
 * Permission groups and denials, tried the way an admin and an attacker would: over REST and a
 * live socket against a real server, on SQLite and on PostgreSQL.
 */
import type { Change, Group, LocationAccessList, PullResponse, Stop } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUser, restCall } from '../../test/factories';
import { backends } from '../../test/harness';
import { buildWorld, connectSocket, emitAck, eventually, insertUser, mutationId, openSession, rest, type World } from '../../test/world';
import { createGrant } from './grants';
import { applyGroupCreate } from './groups';

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };
type AckOk<T> = { ok: true; data: T };

const stopsOf = (changes: readonly Change[]) => changes.filter((c): c is Extract<Change, { entity: 'stop' }> => c.entity === 'stop').map((c) => c.data);

describe.each(backends)('permission groups (%s)', (backend) => {
  let w: World;
  let n = 0;
  const name = (p: string) => `${p}-${++n}`;
  beforeAll(async () => {
    w = await buildWorld(backend, 2);
    // The admin manages both depots here, so scope (not authority) is what refuses a location.
    await createGrant(w.ctx, operator, { userId: w.users.admin.id, role: 'admin', locationIds: [w.B] });
  });
  afterAll(async () => {
    await w?.dispose();
  });

  const createGroup = async (token: string, body: Record<string, unknown>) => rest(w, 'POST', '/groups', token, { locationIds: [w.A], ...body });
  const groupCount = async () => (await w.ctx.db.selectFrom('permission_groups').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
  const deniedAudit = (userId: string, action: string) => w.ctx.db.selectFrom('audit_log').select(['seq', 'details'])
    .where('actor_user_id', '=', userId).where('outcome', '=', 'denied').where('action', '=', action).orderBy('seq', 'desc').executeTakeFirst();

  it('an unknown permission, a permission both allowed and denied, or both role and group: 400 with the reason, nothing written', async () => {
    const before = await groupCount();
    const unknown = await createGroup(w.users.admin.token, { name: name('bad'), permissions: ['location.read', 'stop.teleport'] });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('unknown permission \\"stop.teleport\\"');
    const both = await createGroup(w.users.admin.token, { name: name('bad'), permissions: ['stop.readPhone'], denials: ['stop.readPhone'] });
    expect(both.status).toBe(400);
    expect(JSON.stringify(both.body)).toContain('both allowed and denied');
    expect(await groupCount()).toBe(before);
    const grant = await rest(w, 'POST', '/grants', w.users.admin.token, { userId: w.users.finance.id, role: 'reporting', groupId: 'x', locationIds: [w.A] });
    expect(grant.status).toBe(400);
  });

  it('nobody creates, widens, grants or retires a group beyond what they hold, at every location it covers', async () => {
    // A lead who manages groups and grants at A with a few permissions, built by the operator
    // (a group allowing grant.manage may need a second person's approval over REST).
    const leadGroup = await w.ctx.db.transaction().execute((trx) => applyGroupCreate(trx, operator, {
      name: name('lead'), description: '', permissions: ['group.manage', 'grant.manage', 'location.read', 'stop.readCustomer'], denials: [],
      locationIds: [w.A], mfaRequired: true, mustExpire: false,
    }, w.ctx.now()));
    const lead = await insertUser(w.ctx, name('lead-user'));
    await createGrant(w.ctx, operator, { userId: lead, groupId: leadGroup.id, locationIds: [w.A] });
    const { token } = await openSession(w.ctx, lead);
    const before = await groupCount();

    const wider = await createGroup(token, { name: name('g'), permissions: ['location.read', 'stop.readPhone'] });
    expect(wider.status).toBe(403);
    expect(await deniedAudit(lead, 'group.create')).toMatchObject({ details: expect.stringContaining('stop.readPhone') as unknown });
    const elsewhere = await createGroup(token, { name: name('g'), permissions: ['location.read'], locationIds: [w.A, w.B] });
    expect(elsewhere.status).toBe(403);
    expect(await groupCount()).toBe(before);

    // Within what the lead holds, with a denial: allowed.
    const ok = await createGroup(token, { name: name('readers'), permissions: ['location.read', 'stop.readCustomer'], denials: ['stop.readPhone'] });
    expect(ok.status).toBe(201);
    const readers = ok.body!.group as Group;
    // Adding a denial only narrows; removing one widens, and the lead does not hold stop.readPhone.
    expect((await rest(w, 'PATCH', `/groups/${readers.id}`, token, { denials: ['stop.readPhone', 'stop.readNotes'] })).status).toBe(200);
    expect((await rest(w, 'PATCH', `/groups/${readers.id}`, token, { denials: ['stop.readNotes'] })).status).toBe(403);
    expect((await rest(w, 'PATCH', `/groups/${readers.id}`, token, { permissions: ['location.read', 'stop.readNotes'] })).status).toBe(403);
    expect(await deniedAudit(lead, 'group.update')).toBeDefined();
    const after = (await rest(w, 'GET', `/groups/${readers.id}`, token)).body!.group as Group;
    expect(after).toMatchObject({ permissions: ['location.read', 'stop.readCustomer'], denials: ['stop.readNotes', 'stop.readPhone'], version: 2 });

    // Granting: a group holding what the lead lacks is refused; one within it is allowed; scope holds.
    const phones = (await createGroup(w.users.admin.token, { name: name('phones'), permissions: ['location.read', 'stop.readPhone'] })).body!.group as Group;
    const target = await insertUser(w.ctx, name('target'));
    expect((await rest(w, 'POST', '/grants', token, { userId: target, groupId: phones.id, locationIds: [w.A] })).status).toBe(403);
    expect(await deniedAudit(lead, 'grant.create')).toBeDefined();
    expect((await rest(w, 'POST', '/grants', token, { userId: target, groupId: readers.id, locationIds: [w.B] })).status).toBe(403);
    expect((await rest(w, 'POST', '/grants', w.users.admin.token, { userId: target, groupId: readers.id, locationIds: [w.B] })).status).toBe(400);
    // Granting a group takes its denials with it, so it needs them too (as revoking does): the
    // lead lacks stop.readPhone and stop.readNotes. The operator grants it instead.
    expect((await rest(w, 'POST', '/grants', token, { userId: target, groupId: readers.id, locationIds: [w.A] })).status).toBe(403);
    expect(await deniedAudit(lead, 'grant.create')).toMatchObject({ details: expect.stringContaining('stop.read') as unknown });
    await createGrant(w.ctx, operator, { userId: target, groupId: readers.id, locationIds: [w.A] });
    // Roles are handed out by role templates only: a group's grant.manage grants groups.
    expect((await rest(w, 'POST', '/grants', token, { userId: target, role: 'reporting', locationIds: [w.A] })).status).toBe(403);
    // Retiring drops the group's denials, so it needs them too.
    expect((await rest(w, 'POST', `/groups/${readers.id}/retire`, token)).status).toBe(403);
    const grants = await w.ctx.db.selectFrom('grants').select(['group_id']).where('user_id', '=', target).execute();
    expect(grants).toEqual([{ group_id: readers.id }]);

    // Revoking a group's grant removes its denials: the lead, without stop.readPhone, cannot,
    // and is answered as if the grant did not exist.
    const readerGrant = await w.ctx.db.selectFrom('grants').select('id').where('user_id', '=', target).executeTakeFirstOrThrow();
    expect((await rest(w, 'DELETE', `/grants/${readerGrant.id}`, token)).status).toBe(404);
    expect(await deniedAudit(lead, 'grant.revoke')).toBeDefined();
    const phonesGrant = await createGrant(w.ctx, operator, { userId: target, groupId: phones.id, locationIds: [w.A] });
    expect((await rest(w, 'DELETE', `/grants/${phonesGrant.id}`, token)).status).toBe(404);
    expect((await rest(w, 'DELETE', `/grants/${readerGrant.id}`, w.users.admin.token)).status).toBe(204);
    expect((await w.ctx.db.selectFrom('grants').select('revoked_at').where('id', '=', phonesGrant.id).executeTakeFirstOrThrow()).revoked_at).toBeNull();
  });

  it('dispatcher, but never phone numbers: a denial group changes what REST and a live socket see, and its edits apply at once', async () => {
    const user = await insertUser(w.ctx, name('disp'));
    await createGrant(w.ctx, operator, { userId: user, role: 'dispatcher', locationIds: [w.A] });
    const { token } = await openSession(w.ctx, user);
    const socket = await connectSocket(w.server.url, token);
    const pullPhones = async () => stopsOf((await emitAck<AckOk<PullResponse>>(socket, 'sync:pull', { locationId: w.A, after: 0 })).data.changes).map((s) => s.phone);
    /** Edits a stop's notes as the admin and returns the copy this socket received live. */
    const liveCopy = async (notes: string): Promise<Stop> => {
      const stop = w.stops.A2[0]!;
      const r = await rest(w, 'POST', '/sync/push', w.users.admin.token, { mutations: [{ id: mutationId(), type: 'stop.editNotes', locationId: w.A, createdAt: Date.now(), stopId: stop.id, notes }] });
      expect(r.status).toBe(200);
      const find = () => (socket.received as Change[]).map((c) => (c.entity === 'stop' ? c.data : null)).find((s) => s?.id === stop.id && s.notes === notes);
      expect(await eventually(() => find() !== undefined)).toBe(true);
      return find()!;
    };
    try {
      expect((await pullPhones()).every((p) => typeof p === 'string')).toBe(true);
      expect((await liveCopy('before')).phone).toEqual(expect.any(String));

      const created = await createGroup(w.users.admin.token, { name: name('no-phones'), permissions: [], denials: ['stop.readPhone'] });
      expect(created.status).toBe(201);
      const group = created.body!.group as Group;
      const granted = await rest(w, 'POST', '/grants', w.users.admin.token, { userId: user, groupId: group.id, locationIds: [w.A] });
      expect(granted).toMatchObject({ status: 201, body: { grant: { role: null, groupId: group.id, groupName: group.name } } });
      // The open socket follows: its pulls and its live copies lose the phone, keep the rest.
      expect(await eventually(async () => (await pullPhones()).every((p) => p === undefined))).toBe(true);
      const narrowed = await liveCopy('after-denial');
      expect(narrowed.phone).toBeUndefined();
      expect(narrowed.customerName).toEqual(expect.any(String));
      const restPull = await rest(w, 'GET', `/locations/${w.A}/changes?after=0`, token);
      expect(stopsOf((restPull.body as unknown as PullResponse).changes).every((s) => s.phone === undefined && typeof s.notes === 'string')).toBe(true);

      // Who holds what shows the group, the denial and the folded permissions.
      const access = (await rest(w, 'GET', `/locations/${w.A}/access`, w.users.admin.token)).body as unknown as LocationAccessList;
      const holder = access.holders.find((h) => h.userId === user)!;
      expect(holder.grants.map((g) => g.role ?? g.group?.name).sort()).toEqual(['dispatcher', group.name].sort());
      expect(holder.denials).toEqual(['stop.readPhone']);
      expect(holder.permissions).not.toContain('stop.readPhone');
      expect(holder.permissions).toContain('stop.readNotes');
      expect((await rest(w, 'GET', `/locations/${w.A}/access`, token)).status).toBe(403);
      expect(await deniedAudit(user, 'access.read')).toBeDefined();

      // Editing the group (the denial removed) widens the same socket again, at once.
      const edited = await rest(w, 'PATCH', `/groups/${group.id}`, w.users.admin.token, { denials: ['stop.readCustomer'], expectedVersion: 1 });
      expect(edited.status).toBe(200);
      expect(await eventually(async () => (await pullPhones()).every((p) => typeof p === 'string'))).toBe(true);
      const widened = await liveCopy('after-edit');
      expect(widened.phone).toEqual(expect.any(String));
      expect(widened.customerName).toBeUndefined();
      const stale = await rest(w, 'PATCH', `/groups/${group.id}`, w.users.admin.token, { description: 'late', expectedVersion: 1 });
      expect(stale.status).toBe(409);

      const audit = await w.ctx.db.selectFrom('audit_log').select(['action', 'details']).where('target_id', '=', group.id).orderBy('seq').execute();
      expect(audit.map((a) => a.action)).toEqual(['group.create', 'group.update']);
      expect(JSON.parse(audit[1]!.details)).toMatchObject({ before: { denials: ['stop.readPhone'] }, after: { denials: ['stop.readCustomer'] } });

      // Retiring revokes its grants; the group cannot be granted again.
      const retired = await rest(w, 'POST', `/groups/${group.id}/retire`, w.users.admin.token);
      expect(retired).toMatchObject({ status: 200, body: { group: { holders: 0 }, revokedGrantIds: [(granted.body!.grant as { id: string }).id] } });
      expect((await rest(w, 'POST', '/grants', w.users.admin.token, { userId: user, groupId: group.id, locationIds: [w.A] })).status).toBe(409);
    } finally {
      socket.close();
    }
  });

  it('a group cannot leave a location out of its scope while granted there, and must-expire groups need an expiry', async () => {
    const group = (await createGroup(w.users.admin.token, { name: name('temp'), permissions: ['location.read'], locationIds: [w.A, w.B], mustExpire: true })).body!.group as Group;
    const user = await insertUser(w.ctx, name('temp-user'));
    expect((await rest(w, 'POST', '/grants', w.users.admin.token, { userId: user, groupId: group.id, locationIds: [w.B] })).status).toBe(400);
    expect((await rest(w, 'POST', '/grants', w.users.admin.token, { userId: user, groupId: group.id, locationIds: [w.B], expiresAt: Date.now() + 3_600_000 })).status).toBe(201);
    const shrink = await rest(w, 'PATCH', `/groups/${group.id}`, w.users.admin.token, { locationIds: [w.A] });
    expect(shrink.status).toBe(409);
    expect(((await rest(w, 'GET', `/groups/${group.id}`, w.users.admin.token)).body!.group as Group).locationIds).toEqual([w.A, w.B].sort());
    // The list shows it to a manager of grants at A; a driver sees no groups.
    const listed = (await rest(w, 'GET', `/groups?locationId=${w.A}`, w.users.manager.token)).body!.groups as Group[];
    expect(listed.map((g) => g.id)).toContain(group.id);
    expect((await rest(w, 'GET', '/groups', w.users.driver.token)).body!.groups).toEqual([]);
    expect((await rest(w, 'GET', `/groups/${group.id}`, w.users.driver.token)).status).toBe(404);
  });

  it('a group grant never skips MFA: required by its flag, or by holding what only MFA roles hold', async () => {
    const signInStatus = async (permissions: string[], mfaRequired: boolean) => {
      const group = (await createGroup(w.users.admin.token, { name: name('mfa'), permissions, mfaRequired })).body!.group as Group;
      const user = await buildUser(w.ctx, {});
      await createGrant(w.ctx, operator, { userId: user.id, groupId: group.id, locationIds: [w.A] });
      const r = await restCall(w.server.url, 'POST', '/auth/login', { body: { username: user.username, password: user.password, deviceId: `dev-${name('d')}` } });
      return r.body?.status;
    };
    expect(await signInStatus(['location.read'], true)).toBe('mfa_enrollment_required');
    // Finance (no MFA by policy) already allows these: the flag may waive it.
    expect(await signInStatus(['location.read', 'stop.readCustomer'], false)).toBe('ok');
    // No role outside the MFA policy allows route.edit: the flag cannot waive it.
    expect(await signInStatus(['location.read', 'route.edit'], false)).toBe('mfa_enrollment_required');
  });
});
