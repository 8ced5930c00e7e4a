/**
 * Taking access away with denials, tried as an attacker would: a manager who may grant cannot
 * strip an admin with a group of denials, nor narrow anyone they could not revoke; denying a
 * sensitive permission to someone who holds it needs a second person; a group edited between
 * the approval judgement and its apply is a conflict; group and grant reads show only the
 * reader's depots. On SQLite and on PostgreSQL.
 */
import type { Group, LocationAccessList } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, insertUser, openSession, rest, type World } from '../../test/world';
import { loadAccessProfile } from './access-profile';
import { findGroup } from './group-records';
import { createGrant } from './grants';
import { applyGroupCreate, applyGroupUpdate, applyJudgedGroupUpdate } from './groups';

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };
const adminPowers = ['grant.manage', 'audit.read', 'approval.decide', 'security.read', 'session.revokeAny', 'group.manage'];

describe.each(backends)('narrowing with denials (%s)', (backend) => {
  let w: World;
  let n = 0;
  const name = (p: string) => `${p}-${++n}`;
  beforeAll(async () => {
    w = await buildWorld(backend, 1);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  /** A group made by the operator, as one that already exists. */
  const group = (permissions: string[], denials: string[], locationIds = [w.A]) => w.ctx.db.transaction().execute((trx) => applyGroupCreate(trx, operator, {
    name: name('g'), description: '', permissions: permissions as never, denials: denials as never, locationIds, mfaRequired: true, mustExpire: false,
  }, w.ctx.now()));
  const activeGrants = (userId: string, groupId: string) => w.ctx.db.selectFrom('grants').select('id')
    .where('user_id', '=', userId).where('group_id', '=', groupId).where('revoked_at', 'is', null).execute();
  const lastDenied = (userId: string) => w.ctx.db.selectFrom('audit_log').select(['action', 'location_id', 'details'])
    .where('actor_user_id', '=', userId).where('outcome', '=', 'denied').orderBy('seq', 'desc').executeTakeFirst();

  it('a manager cannot strip an admin with a group of denials: refused, audited, the admin keeps the audit log', async () => {
    const strip = await group([], adminPowers);
    const { manager, admin } = w.users;
    expect((await rest(w, 'GET', `/locations/${w.A}/audit`, admin.token)).status).toBe(200);
    const res = await rest(w, 'POST', '/grants', manager.token, { userId: admin.id, groupId: strip.id, locationIds: [w.A], reason: 'tidy up' });
    expect(res.status).toBe(403);
    expect(await activeGrants(admin.id, strip.id)).toEqual([]);
    // Taking sensitive powers from their holder would be a four-eyes request, which the manager
    // may not even ask for: refused as such, naming the first power they lack.
    expect(await lastDenied(manager.id)).toMatchObject({ action: 'approval.request', location_id: w.A });
    expect(String((await lastDenied(manager.id))!.details)).toMatch(/group\.manage|security\.read|session\.revokeAny|admin/);
    expect((await rest(w, 'GET', `/locations/${w.A}/audit`, admin.token)).status).toBe(200);
    // Nor can the manager narrow a fellow manager (manager's mayGrant does not list manager),
    // with a denial the manager does hold.
    const peer = await insertUser(w.ctx, name('peer'));
    await createGrant(w.ctx, operator, { userId: peer, role: 'manager', locationIds: [w.A] });
    const noPhones = await group([], ['stop.readPhone']);
    expect((await rest(w, 'POST', '/grants', manager.token, { userId: peer, groupId: noPhones.id, locationIds: [w.A] })).status).toBe(403);
    expect(await activeGrants(peer, noPhones.id)).toEqual([]);
    // A dispatcher is theirs to narrow: "dispatcher, but never phone numbers".
    expect((await rest(w, 'POST', '/grants', manager.token, { userId: w.users.dispatcher.id, groupId: noPhones.id, locationIds: [w.A] })).status).toBe(201);
  });

  it('denying a sensitive permission to someone who holds it needs a second person; to someone who lacks it, not', async () => {
    const noAudit = await group([], ['audit.read']);
    const asked = await rest(w, 'POST', '/grants', w.users.admin.token, { userId: w.users.manager.id, groupId: noAudit.id, locationIds: [w.A], reason: 'stop reading the log' });
    expect(asked).toMatchObject({ status: 202, body: { approvalRequired: true, approval: { kind: 'grant.privileged', status: 'pending' } } });
    expect(await activeGrants(w.users.manager.id, noAudit.id)).toEqual([]);
    // A driver never read the audit log: nothing sensitive is taken away.
    expect((await rest(w, 'POST', '/grants', w.users.admin.token, { userId: w.users.driver.id, groupId: noAudit.id, locationIds: [w.A] })).status).toBe(201);
  });

  it('adding a denial to a granted group needs the denied permission and the authority to narrow its holders; a sensitive one, a second person', async () => {
    const shared = await group(['location.read'], []);
    const holder = await insertUser(w.ctx, name('holder'));
    await createGrant(w.ctx, operator, { userId: holder, role: 'manager', locationIds: [w.A] });
    await createGrant(w.ctx, operator, { userId: holder, groupId: shared.id, locationIds: [w.A] });
    // A lead who manages groups (and holds stop.readPhone) but cannot grant the manager role.
    const leads = await group(['group.manage', 'grant.manage', 'location.read', 'stop.readPhone'], []);
    const lead = await insertUser(w.ctx, name('lead'));
    await createGrant(w.ctx, operator, { userId: lead, groupId: leads.id, locationIds: [w.A] });
    const { token } = await openSession(w.ctx, lead);
    expect((await rest(w, 'PATCH', `/groups/${shared.id}`, token, { denials: ['stop.readPhone'] })).status).toBe(403);
    expect(await lastDenied(lead)).toMatchObject({ action: 'group.update', location_id: w.A });
    expect((await rest(w, 'PATCH', `/groups/${shared.id}`, token, { denials: ['audit.read'] })).status).toBe(403);
    expect(await findGroup(w.ctx.db, { id: shared.id })).toMatchObject({ denials: [], version: 1 });
    // The admin may, but denying audit.read to a manager who holds it is a four-eyes change.
    const asked = await rest(w, 'PATCH', `/groups/${shared.id}`, w.users.admin.token, { denials: ['audit.read'], reason: 'no log reading' });
    expect(asked).toMatchObject({ status: 202, body: { approval: { kind: 'group.sensitive' } } });
    expect((asked.body as { approval: { summary: string } }).approval.summary).toContain('deny its holders audit.read');
    // A harmless denial is made at once by the admin.
    expect((await rest(w, 'PATCH', `/groups/${shared.id}`, w.users.admin.token, { denials: ['stop.readNotes'] })).status).toBe(200);
  });

  it('a group changed between the approval judgement and the apply is a conflict, not an unapproved widening', async () => {
    const g = await group(['location.read'], []);
    const judged = (await findGroup(w.ctx.db, { id: g.id }))!;
    // Someone edits the group in between (the version moves on).
    await w.ctx.db.transaction().execute((trx) => applyGroupUpdate(trx, operator, g.id, { description: 'edited' }, w.ctx.now()));
    const admin = { kind: 'user' as const, actor: { userId: w.users.admin.id, label: 'admin', deviceId: null, ip: null }, profile: await loadAccessProfile(w.ctx.db, w.users.admin.id, w.ctx.now()) };
    await expect(w.ctx.db.transaction().execute((trx) => applyJudgedGroupUpdate(trx, admin, judged, { permissions: ['location.read', 'stop.readPhone'] }, w.ctx.now())))
      .rejects.toMatchObject({ status: 409 });
    expect(await findGroup(w.ctx.db, { id: g.id })).toMatchObject({ permissions: ['location.read'], version: 2 });
  });

  it('group and who-holds-what reads show only the reader\u2019s depots', async () => {
    const both = await group(['location.read'], [], [w.A, w.B]);
    const atA = await insertUser(w.ctx, name('at-a'));
    const atB = await insertUser(w.ctx, name('at-b'));
    await createGrant(w.ctx, operator, { userId: atA, groupId: both.id, locationIds: [w.A, w.B] });
    await createGrant(w.ctx, operator, { userId: atB, groupId: both.id, locationIds: [w.B] });
    const { token } = w.users.manager; // grant.manage at A only
    const one = (await rest(w, 'GET', `/groups/${both.id}`, token)).body!.group as Group;
    expect(one).toMatchObject({ locationIds: [w.A], holders: 1 });
    const listed = ((await rest(w, 'GET', '/groups', token)).body!.groups as Group[]).find((x) => x.id === both.id);
    expect(listed).toMatchObject({ locationIds: [w.A], holders: 1 });
    const access = (await rest(w, 'GET', `/locations/${w.A}/access`, token)).body as LocationAccessList;
    expect(access.holders.find((h) => h.userId === atA)?.grants).toMatchObject([{ group: { id: both.id }, locationIds: [w.A] }]);
    // The admin at both depots sees everything.
    await createGrant(w.ctx, operator, { userId: w.users.admin.id, role: 'admin', locationIds: [w.B] });
    expect((await rest(w, 'GET', `/groups/${both.id}`, w.users.admin.token)).body!.group).toMatchObject({ locationIds: [w.A, w.B], holders: 2 });
  });
});
