/**
 * The authorization matrix, generated from the permission catalogue in shared/: every role x
 * every action x own / other location, over REST and over sockets, against a real server on
 * SQLite and on PostgreSQL. The expectation is computed from `roleTemplates`, never written
 * by hand, so a change to a role template changes what is tested.
 */
import {
  type Mutation, type MutationType, type Permission, type PushResponse, type RoleName, mutationPermission,
  mutationTypes, roleNames, roleTemplates,
} from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildPlanningMutation } from '../../test/planning-mutations';
import { buildWorld, connectSocket, emitAck, mutationId, rest, type TestSocket, type World, type WorldUser } from '../../test/world';

type Where = 'own' | 'other';
type Action = 'sync.pull' | MutationType | 'audit.read' | 'grant.create';
const actions: Action[] = ['sync.pull', ...mutationTypes, 'audit.read', 'grant.create'];

const actionPermission = (a: Action): Permission =>
  a === 'sync.pull' ? 'location.read' : a === 'audit.read' ? 'audit.read' : a === 'grant.create' ? 'grant.manage' : mutationPermission[a];

/**
 * What the catalogue says. Driver-only permissions count on the driver's own route and own
 * position; a position can be reported only by the driver it belongs to; granting needs a
 * role whose `mayGrant` includes the role granted (here: reporting).
 */
function expectedAllowed(role: RoleName, action: Action, where: Where): boolean {
  if (where === 'other') return false;
  const t = roleTemplates[role];
  const has = t.permissions.includes(actionPermission(action));
  if (!has) return false;
  if (action === 'position.report') return role === 'driver';
  if (action === 'grant.create') return t.mayGrant.includes('reporting');
  if (t.assignedRoutesOnly) return action === 'sync.pull' || action === 'stop.setStatus' || action === 'stop.revealPhone';
  return true;
}

let counter = 0;
const isMutationAction = (a: Action): a is MutationType => a !== 'sync.pull' && a !== 'audit.read' && a !== 'grant.create';
const uniq = (p: string) => `${p}-${++counter}`;

async function buildMutation(w: World, user: WorldUser, action: MutationType, where: Where): Promise<Mutation> {
  const locationId = where === 'own' ? w.A : w.B;
  // Drivers act on their own route; everyone else on a route they do not drive.
  const stop = where === 'other' ? w.stops.B1[0]! : user.role === 'driver' ? w.stops.A1[0]! : w.stops.A2[0]!;
  const routeId = where === 'other' ? w.routes.B1 : w.routes.A2;
  const base = { id: mutationId(), locationId, createdAt: Date.now() };
  switch (action) {
    case 'stop.setStatus': {
      const row = await w.ctx.db.selectFrom('stops').select('status').where('id', '=', stop.id).executeTakeFirstOrThrow();
      return { ...base, type: action, stopId: stop.id, to: row.status === 'planned' ? 'en_route' : 'planned' };
    }
    case 'stop.editNotes': return { ...base, type: action, stopId: stop.id, notes: `note ${uniq('n')}` };
    case 'stop.update': return { ...base, type: action, stopId: stop.id, changes: { eta: Date.now() } };
    case 'stop.revealPhone': return { ...base, type: action, stopId: stop.id };
    case 'stop.create': return {
      ...base, type: action, stopId: uniq('new-stop'), routeId, sequence: 99, customerName: 'New Customer', address: '1 New Road', phone: null, notes: '',
      window: { start: 1_800_000_000_000, end: 1_800_000_600_000 },
    };
    case 'route.create': return { ...base, type: action, routeId: uniq('new-route'), name: 'Extra', date: '2026-11-23' };
    case 'route.assign': return { ...base, type: action, routeId, driverId: null, vehicleId: null };
    case 'position.report': return { ...base, type: action, driverId: w.driverRecordId, lat: 52.5, lng: 13.4, headingDeg: null, speedKmh: null };
    case 'route.update': case 'route.cancel': case 'route.reorder': case 'stop.cancel': case 'stop.move':
    case 'driver.create': case 'driver.update': case 'driver.retire': case 'vehicle.create': case 'vehicle.update': case 'vehicle.retire':
      return buildPlanningMutation({ ctx: w.ctx, locationId, routeId, driverId: w.otherDriverRecordId, vehicleId: w.vehicleA }, action, base);
  }
}

describe.each(backends)('authorization matrix (%s)', (backend) => {
  let w: World;
  const sockets = new Map<RoleName, TestSocket>();

  beforeAll(async () => {
    w = await buildWorld(backend, 2);
    for (const role of roleNames) sockets.set(role, await connectSocket(w.server.url, w.users[role].token));
  });
  afterAll(async () => {
    for (const s of sockets.values()) s.close();
    await w?.dispose();
  });

  const cases = roleNames.flatMap((role) => actions.flatMap((action) => (['own', 'other'] as Where[]).map((where) => ({ role, action, where, allowed: expectedAllowed(role, action, where) }))));

  it.each(cases)('REST: $role $action at $where location -> allowed=$allowed', async ({ role, action, where, allowed }) => {
    const user = w.users[role];
    const locationId = where === 'own' ? w.A : w.B;
    // Built first: some mutations get a fresh record to act on, which is not the change under test.
    const mutation = isMutationAction(action) ? await buildMutation(w, user, action, where) : null;
    const versionBefore = await locationVersion(w, locationId);
    let ok: boolean;
    if (action === 'sync.pull') {
      const r = await rest(w, 'GET', `/locations/${locationId}/changes?after=0`, user.token);
      expect([200, 403]).toContain(r.status);
      ok = r.status === 200;
    } else if (action === 'audit.read') {
      const r = await rest(w, 'GET', `/locations/${locationId}/audit`, user.token);
      expect([200, 403]).toContain(r.status);
      ok = r.status === 200;
    } else if (action === 'grant.create') {
      const r = await rest(w, 'POST', '/grants', user.token, { userId: w.users.reporting.id, role: 'reporting', locationIds: [locationId] });
      expect([201, 403]).toContain(r.status);
      ok = r.status === 201;
    } else {
      const r = await rest(w, 'POST', '/sync/push', user.token, { mutations: [mutation!] });
      expect(r.status).toBe(200);
      const result = (r.body as PushResponse).results[0]!;
      ok = result.status === 'applied';
      if (!ok) expect(result).toMatchObject({ status: 'rejected', code: 'forbidden' });
    }
    expect(ok).toBe(allowed);
    if (!allowed) {
      // A refusal changes nothing and leaves an audit entry.
      expect(await locationVersion(w, locationId)).toBe(versionBefore);
      const denied = await w.ctx.db.selectFrom('audit_log').select('seq').where('actor_user_id', '=', user.id).where('outcome', '=', 'denied').where('action', '=', action).executeTakeFirst();
      expect(denied).toBeDefined();
    }
  });

  const socketCases = cases.filter((c) => c.action !== 'audit.read' && c.action !== 'grant.create');
  it.each(socketCases)('socket: $role $action at $where location -> allowed=$allowed', async ({ role, action, where, allowed }) => {
    const user = w.users[role];
    const socket = sockets.get(role)!;
    const locationId = where === 'own' ? w.A : w.B;
    const mutation = isMutationAction(action) ? await buildMutation(w, user, action, where) : null;
    const versionBefore = await locationVersion(w, locationId);
    let ok: boolean;
    if (action === 'sync.pull') {
      const res = await emitAck<{ ok: boolean; error?: { code: string } }>(socket, 'sync:pull', { locationId, after: 0 });
      if (!res.ok) expect(res.error?.code).toBe('forbidden');
      ok = res.ok;
    } else {
      const res = await emitAck<{ ok: boolean; data: PushResponse }>(socket, 'sync:push', { mutations: [mutation!] });
      expect(res.ok).toBe(true);
      const result = res.data.results[0]!;
      ok = result.status === 'applied';
      if (!ok) expect(result).toMatchObject({ status: 'rejected', code: 'forbidden' });
    }
    expect(ok).toBe(allowed);
    if (!allowed) expect(await locationVersion(w, locationId)).toBe(versionBefore);
  });
});

async function locationVersion(w: World, id: string): Promise<number> {
  return (await w.ctx.db.selectFrom('locations').select('version').where('id', '=', id).executeTakeFirstOrThrow()).version;
}
