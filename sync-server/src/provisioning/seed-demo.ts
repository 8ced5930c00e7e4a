import { type RoleName } from '@depotline/shared';
import { z } from 'zod';
import { createGrant } from '../access/grants';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { createUser } from '../users/users';
import { dateInZone, demoCustomer, type DemoDepot, demoDepot, demoDriverName, demoOrder, demoVehicle, zonedTime } from './demo-data';
import { createDriverIn, createVehicleIn } from './fleet';
import { generatePassword } from './generated-password';
import { createLocationIn } from './locations';
import { parseInput } from '../errors';
import { operatorActor } from './operator';
import { createRouteIn, createStopIn } from './delivery-routes';

export const SeedDemoOptions = z.object({
  locations: z.number().int().min(1).max(20).default(2),
  routesPerLocation: z.number().int().min(1).max(50).default(3),
  stopsPerRoute: z.number().int().min(1).max(200).default(8),
});
export type SeedDemoOptions = z.input<typeof SeedDemoOptions>;

/** A demo account's sign-in details: shown once, never stored in the clear. */
export interface DemoCredential {
  username: string;
  displayName: string;
  password: string;
  role: RoleName;
  locationIds: string[];
  /** The role's MFA policy applies: an authenticator app is enrolled at first sign-in. */
  mfaAtFirstSignIn: boolean;
  expiresAt: number | null;
}

export type SeedDemoResult =
  | { status: 'seeded'; locations: string[]; drivers: number; vehicles: number; routes: number; stops: number; users: DemoCredential[] }
  | { status: 'already_seeded'; locations: string[] }
  | { status: 'not_empty' };

/** The audit action that records a finished demo seeding (and marks the database as a demo). */
export const demoSeedAction = 'demo.seed';

const routeAreas = ['Town centre', 'Riverside', 'Industrial estate', 'Villages loop', 'Retail park', 'Hospital and schools', 'Harbour'];
const slugOf = (depot: DemoDepot) => depot.id.replace(/^depot-/, '');

interface PlannedUser {
  username: string;
  displayName: string;
  role: RoleName;
  locationIds: string[];
  expiresAt: number | null;
}

function planUsers(depots: readonly DemoDepot[], now: number): PlannedUser[] {
  const all = depots.map((d) => d.id);
  const first = depots[0]!;
  const second = depots[1] ?? first;
  return [
    { username: 'admin', displayName: 'Demo Administrator', role: 'admin', locationIds: all, expiresAt: null },
    { username: `manager.${slugOf(first)}`, displayName: `${first.name} Manager`, role: 'manager', locationIds: [first.id], expiresAt: null },
    ...depots.map((d): PlannedUser => ({ username: `dispatcher.${slugOf(d)}`, displayName: `${d.name} Dispatcher`, role: 'dispatcher', locationIds: [d.id], expiresAt: null })),
    { username: `driver.${slugOf(first)}`, displayName: demoDriverName(0, 0), role: 'driver', locationIds: [first.id], expiresAt: null },
    { username: 'finance', displayName: 'Demo Finance', role: 'finance', locationIds: all, expiresAt: null },
    { username: 'reporting', displayName: 'Demo Reporting', role: 'reporting', locationIds: all, expiresAt: null },
    // Contractor access must expire: a week, as for a seasonal helper.
    { username: `contractor.${slugOf(second)}`, displayName: 'Demo Contractor', role: 'contractor', locationIds: [second.id], expiresAt: now + 7 * 86_400_000 },
  ];
}

/**
 * Seeds a realistic demo: depots, drivers, vans, today's routes with stops (invented
 * customers, PII encrypted like any other), and one account per role with its grant. The
 * returned passwords are the only copy; the caller prints them once.
 *
 * Idempotent: a database that was demo-seeded before is left alone, and one that holds other
 * data is refused, so demo accounts never end up in a real installation by accident.
 * Every write is audited as the operator; the depot data commits in one transaction.
 */
export async function seedDemo(ctx: ServerContext, options: SeedDemoOptions = {}, actor: AuditActor = operatorActor()): Promise<SeedDemoResult> {
  const opts = parseInput(SeedDemoOptions, options);
  const depots = Array.from({ length: opts.locations }, (_, i) => demoDepot(i));
  const anyLocation = await ctx.db.selectFrom('locations').select('id').limit(1).executeTakeFirst();
  const anyUser = await ctx.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (anyLocation || anyUser) {
    // The audit log remembers the seeding: a depot that happens to be called depot-north
    // does not make a real installation look like a demo.
    const marker = await ctx.db.selectFrom('audit_log').select('details').where('action', '=', demoSeedAction).orderBy('seq').limit(1).executeTakeFirst();
    if (!marker) return { status: 'not_empty' };
    const details = JSON.parse(marker.details) as { locations?: unknown };
    const locations = Array.isArray(details.locations) ? details.locations.filter((l): l is string => typeof l === 'string') : [];
    return { status: 'already_seeded', locations };
  }

  const now = ctx.now();
  const planned = planUsers(depots, now);
  const users: (DemoCredential & { id: string })[] = [];
  for (const p of planned) {
    const password = generatePassword();
    const created = await createUser(ctx, actor, { username: p.username, displayName: p.displayName, password });
    users.push({
      ...p, id: created.id, password, expiresAt: p.expiresAt,
      mfaAtFirstSignIn: ctx.config.mfaRequiredRoles.has(p.role),
    });
  }
  const driverUser = users.find((u) => u.role === 'driver')!;

  const counts = { drivers: 0, vehicles: 0, routes: 0, stops: 0 };
  await ctx.db.transaction().execute(async (trx) => {
    for (const [di, depot] of depots.entries()) {
      const slug = slugOf(depot);
      await createLocationIn(trx, actor, { id: depot.id, name: depot.name, timezone: depot.timezone }, now);
      const today = dateInZone(now, depot.timezone);
      for (let r = 0; r < opts.routesPerLocation; r++) {
        const driver = await createDriverIn(trx, actor, {
          id: `drv-${slug}-${r + 1}`, locationId: depot.id, name: demoDriverName(di, r),
          // The first driver of the first depot is the demo driver account, on route 1.
          userId: di === 0 && r === 0 ? driverUser.id : null,
        }, now);
        const vehicle = await createVehicleIn(trx, actor, { id: `veh-${slug}-${r + 1}`, locationId: depot.id, ...demoVehicle(depot, r) }, now);
        const route = await createRouteIn(trx, actor, {
          id: `route-${slug}-${r + 1}`, locationId: depot.id, name: `${depot.name.split(' ')[0]} ${r + 1}: ${routeAreas[r % routeAreas.length]}`,
          date: today, driverId: driver.id, vehicleId: vehicle.id,
        }, now);
        counts.drivers++;
        counts.vehicles++;
        counts.routes++;
        for (let s = 0; s < opts.stopsPerRoute; s++) {
          // Two-hour windows, three stops per hour from 08:00 local, later routes half an hour later.
          const start = zonedTime(today, 8, 0, depot.timezone) + r * 30 * 60_000 + Math.floor(s / 3) * 3_600_000;
          const customer = demoCustomer(depot);
          await createStopIn(ctx, trx, actor, {
            id: `stop-${slug}-${r + 1}-${s + 1}`, locationId: depot.id, routeId: route.id, sequence: s,
            ...customer, window: { start, end: start + 2 * 3_600_000 },
            ...demoOrder(depot, today, r * opts.stopsPerRoute + s + 1, customer.customerName),
          }, now);
          counts.stops++;
        }
      }
    }
  });

  const operator = { kind: 'operator' as const, actor };
  for (const u of users) {
    await createGrant(ctx, operator, { userId: u.id, role: u.role, locationIds: u.locationIds, expiresAt: u.expiresAt });
  }
  const locations = depots.map((d) => d.id);
  await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, {
    action: demoSeedAction, outcome: 'ok', details: { locations, ...counts, users: users.map((u) => u.username) },
  }, ctx.now()));
  return {
    status: 'seeded',
    locations,
    ...counts,
    users: users.map(({ id: _id, ...credential }) => credential),
  };
}
