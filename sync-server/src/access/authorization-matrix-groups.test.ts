/**
 * The authorization matrix for permission groups and denials, generated from the catalogue in
 * shared/, against a real server on SQLite and on PostgreSQL, over REST and sockets:
 *
 * - for every permission an action needs, a user whose only grant is a group allowing exactly
 *   that permission may do exactly the actions needing it, at the group's location only;
 * - for every role template and every permission of it an action needs, a user holding the role
 *   plus a group denying that permission is refused exactly that permission's actions, and keeps
 *   the rest (a driver acts on a route assigned to them, where their driver-only permissions
 *   count).
 *
 * Expectations are computed from `roleTemplates` and `mutationPermission`, never written by hand.
 */
import {
  type Mutation, type MutationType, type Permission, type PushResponse, type RoleName, mutationPermission,
  mutationTypes, roleNames, roleTemplates,
} from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildPlanningMutation } from '../../test/planning-mutations';
import {
  buildWorld, connectSocket, emitAck, insertRoute, insertStops, insertUser, mutationId, openSession, rest, type TestSocket, type World,
} from '../../test/world';
import type { GroupRecord } from './group-records';
import { createGrant } from './grants';
import { applyGroupCreate } from './groups';

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

type Where = 'own' | 'other';
type Action = 'sync.pull' | MutationType | 'audit.read' | 'grant.create';
// A position is reported only by the driver it belongs to: no group or role here is that driver.
const actions: Action[] = ['sync.pull', ...mutationTypes.filter((t) => t !== 'position.report'), 'audit.read', 'grant.create'];
const actionPermission = (a: Action): Permission =>
  a === 'sync.pull' ? 'location.read' : a === 'audit.read' ? 'audit.read' : a === 'grant.create' ? 'grant.manage' : mutationPermission[a];
const actionPermissions = [...new Set(actions.map(actionPermission))].sort();

interface Subject {
  label: string;
  /** The user's role template at A, if any. */
  role: RoleName | null;
  /** What the subject's group allows / denies at A. */
  allows: Permission[];
  denies: Permission[];
}

const groupOnly: Subject[] = actionPermissions.map((p) => ({ label: `group allowing only ${p}`, role: null, allows: [p], denies: [] }));
const roleMinus: Subject[] = roleNames.flatMap((role) =>
  actionPermissions.filter((p) => roleTemplates[role].permissions.includes(p))
    .map((p) => ({ label: `${role} with a group denying ${p}`, role, allows: [], denies: [p] })));
const subjects = [...groupOnly, ...roleMinus];

/**
 * What the catalogue says: the subject holds what its role and group allow, less what the group
 * denies, at A only. Granting needs grant.manage and, for a role, a held role whose `mayGrant`
 * lists it; subjects grant a group of denials only (which needs grant.manage and the denied
 * stop.readNotes, as revoking it would, to a fresh user with nothing to take away), and role
 * subjects the reporting role.
 */
function expectedAllowed(s: Subject, action: Action, where: Where): boolean {
  if (where === 'other') return false;
  const p = actionPermission(action);
  const held = new Set<Permission>([...(s.role ? roleTemplates[s.role].permissions : []), ...s.allows]);
  for (const d of s.denies) held.delete(d);
  if (!held.has(p)) return false;
  if (action === 'grant.create' && s.role) return roleTemplates[s.role].mayGrant.includes('reporting');
  if (action === 'grant.create') return held.has('stop.readNotes');
  return true;
}

describe.each(backends)('authorization matrix, groups and denials (%s)', (backend) => {
  let w: World;
  let narrowGroup: GroupRecord;
  /** Each subject's user, and the route (with one stop) it acts on at A. */
  const users = new Map<string, { id: string; token: string; socket: TestSocket; routeId: string; stopId: string }>();
  let counter = 0;

  beforeAll(async () => {
    w = await buildWorld(backend, 2);
    // Groups are made by the operator: over REST, some would wait for a second person's approval.
    const group = (g: { permissions: Permission[]; denials: Permission[]; mfaRequired?: boolean }) => w.ctx.db.transaction().execute((trx) => applyGroupCreate(trx, operator, {
      name: `m-${++counter}`, description: '', locationIds: [w.A, w.B], mfaRequired: true, mustExpire: false, ...g,
    }, w.ctx.now()));
    narrowGroup = await group({ permissions: [], denials: ['stop.readNotes'] });
    for (const s of subjects) {
      const id = await insertUser(w.ctx, `matrix-${++counter}`);
      if (s.role) await createGrant(w.ctx, operator, { userId: id, role: s.role, locationIds: [w.A], expiresAt: roleTemplates[s.role].mustExpire ? Date.now() + 86_400_000 : null });
      const g = await group({ permissions: s.allows, denials: s.denies, mfaRequired: false });
      await createGrant(w.ctx, operator, { userId: id, groupId: g.id, locationIds: [w.A] });
      const { token } = await openSession(w.ctx, id);
      // A driver acts on a route of their own; everyone else on a route they do not drive.
      const own = s.role && roleTemplates[s.role].assignedRoutesOnly ? await ownRoute(id) : { routeId: w.routes.A2, stopId: w.stops.A2[0]!.id };
      users.set(s.label, { id, token, socket: await connectSocket(w.server.url, token), ...own });
    }
  });
  afterAll(async () => {
    for (const u of users.values()) u.socket.close();
    await w?.dispose();
  });

  /** A driver record for the user, a route at A assigned to it, and one stop on that route. */
  async function ownRoute(userId: string): Promise<{ routeId: string; stopId: string }> {
    const n = ++counter;
    const driverId = `drv-m-${n}`;
    const routeId = `route-m-${n}`;
    await w.ctx.db.insertInto('drivers').values({ id: driverId, location_id: w.A, name: `Driver ${n}`, user_id: userId }).execute();
    await insertRoute(w.ctx, w.A, routeId, driverId);
    const [stop] = await insertStops(w.ctx, w.A, routeId, 1);
    return { routeId, stopId: stop!.id };
  }

  async function buildMutation(subject: string, action: MutationType, where: Where): Promise<Mutation> {
    const locationId = where === 'own' ? w.A : w.B;
    const own = users.get(subject)!;
    const stop = { id: where === 'other' ? w.stops.B1[0]!.id : own.stopId };
    const routeId = where === 'other' ? w.routes.B1 : own.routeId;
    const base = { id: mutationId(), locationId, createdAt: Date.now() };
    switch (action) {
      case 'stop.setStatus': {
        const row = await w.ctx.db.selectFrom('stops').select('status').where('id', '=', stop.id).executeTakeFirstOrThrow();
        return { ...base, type: action, stopId: stop.id, to: row.status === 'planned' ? 'en_route' : 'planned' };
      }
      case 'stop.editNotes': return { ...base, type: action, stopId: stop.id, notes: `note ${++counter}` };
      case 'stop.update': return { ...base, type: action, stopId: stop.id, changes: { eta: Date.now() } };
      case 'stop.revealPhone': return { ...base, type: action, stopId: stop.id };
      case 'stop.create': return {
        ...base, type: action, stopId: `new-stop-${++counter}`, routeId, sequence: 99, customerName: 'New Customer', address: '1 New Road', phone: null, notes: '',
        window: { start: 1_800_000_000_000, end: 1_800_000_600_000 },
      };
      case 'route.create': return { ...base, type: action, routeId: `new-route-${++counter}`, name: 'Extra', date: '2026-11-23' };
      case 'route.assign': return { ...base, type: action, routeId, driverId: null, vehicleId: null };
      case 'position.report': return { ...base, type: action, driverId: w.driverRecordId, lat: 52.5, lng: 13.4, headingDeg: null, speedKmh: null };
      case 'route.update': case 'route.cancel': case 'route.reorder': case 'stop.cancel': case 'stop.move':
      case 'driver.create': case 'driver.update': case 'driver.retire': case 'vehicle.create': case 'vehicle.update': case 'vehicle.retire':
        return buildPlanningMutation({ ctx: w.ctx, locationId, routeId, driverId: w.otherDriverRecordId, vehicleId: w.vehicleA }, action, base);
    }
  }

  const cases = subjects.flatMap((s) => actions.flatMap((action) => (['own', 'other'] as Where[])
    // A denial subject at the other location holds nothing there: covered by the group-only rows.
    .filter((where) => where === 'own' || s.role === null)
    .map((where) => ({ subject: s.label, s, action, where, allowed: expectedAllowed(s, action, where) }))));

  it.each(cases)('REST: $subject, $action at $where location -> allowed=$allowed', async ({ subject, s, action, where, allowed }) => {
    const user = users.get(subject)!;
    const locationId = where === 'own' ? w.A : w.B;
    let ok: boolean;
    if (action === 'sync.pull') {
      ok = (await rest(w, 'GET', `/locations/${locationId}/changes?after=0`, user.token)).status === 200;
    } else if (action === 'audit.read') {
      ok = (await rest(w, 'GET', `/locations/${locationId}/audit`, user.token)).status === 200;
    } else if (action === 'grant.create') {
      const target = await insertUser(w.ctx, `target-${++counter}`);
      const body = s.role ? { userId: target, role: 'reporting', locationIds: [locationId] } : { userId: target, groupId: narrowGroup.id, locationIds: [locationId] };
      const r = await rest(w, 'POST', '/grants', user.token, body);
      expect([201, 403]).toContain(r.status);
      ok = r.status === 201;
    } else {
      const r = await rest(w, 'POST', '/sync/push', user.token, { mutations: [await buildMutation(subject, action, where)] });
      expect(r.status).toBe(200);
      const result = (r.body as unknown as PushResponse).results[0]!;
      ok = result.status === 'applied';
      if (!ok) expect(result).toMatchObject({ status: 'rejected', code: 'forbidden' });
    }
    expect(ok).toBe(allowed);
    if (!allowed) {
      const denied = await w.ctx.db.selectFrom('audit_log').select('seq').where('actor_user_id', '=', user.id).where('outcome', '=', 'denied').where('action', '=', action).executeTakeFirst();
      expect(denied).toBeDefined();
    }
  });

  const socketCases = cases.filter((c) => c.action !== 'audit.read' && c.action !== 'grant.create');
  it.each(socketCases)('socket: $subject, $action at $where location -> allowed=$allowed', async ({ subject, action, where, allowed }) => {
    const { socket } = users.get(subject)!;
    const locationId = where === 'own' ? w.A : w.B;
    let ok: boolean;
    if (action === 'sync.pull') {
      const res = await emitAck<{ ok: boolean; error?: { code: string } }>(socket, 'sync:pull', { locationId, after: 0 });
      if (!res.ok) expect(res.error?.code).toBe('forbidden');
      ok = res.ok;
    } else {
      const res = await emitAck<{ ok: boolean; data: PushResponse }>(socket, 'sync:push', { mutations: [await buildMutation(subject, action as MutationType, where)] });
      expect(res.ok).toBe(true);
      ok = res.data.results[0]!.status === 'applied';
    }
    expect(ok).toBe(allowed);
  });
});
