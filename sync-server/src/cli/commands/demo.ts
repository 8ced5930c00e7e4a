import { SeedDemoOptions, type SeedDemoResult, seedDemo } from '../../provisioning/seed-demo';
import { conflict } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, optionalInteger, parseCliInput } from '../command';

/** The demo accounts as a table. Called once, right after seeding: the only time passwords exist. */
export function formatDemoCredentials(result: Extract<SeedDemoResult, { status: 'seeded' }>, mfaRoles: ReadonlySet<string>): string {
  const rows = result.users.map((u) => [
    u.username + (u.mfaAtFirstSignIn ? ' *' : ''), u.role, u.locationIds.join(','), u.password,
    u.expiresAt === null ? '' : `expires ${new Date(u.expiresAt).toISOString().slice(0, 10)}`,
  ]);
  const header = ['username', 'role', 'locations', 'password', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `Seeded the demo dataset: ${result.locations.length} locations (${result.locations.join(', ')}), ${result.drivers} drivers, `
      + `${result.vehicles} vehicles, ${result.routes} routes for today, ${result.stops} stops.`,
    '',
    'Demo accounts. The passwords are shown only now and are not stored anywhere in the clear:',
    line(header),
    ...rows.map(line),
    '',
    `* enrolls an authenticator app (TOTP) at first sign-in: MFA is required for ${[...mfaRoles].sort().join(', ') || 'no role'}.`,
  ].join('\n');
}

const demoSeed: CliCommand = {
  group: 'demo',
  name: 'seed',
  summary: 'Fill an empty database with demo depots, routes, stops and one account per role',
  options: {
    locations: { type: 'string', value: '<n>', description: 'Depots to create (default 2)' },
    routes: { type: 'string', value: '<n>', description: 'Routes per depot, each with a driver and a van (default 3)' },
    stops: { type: 'string', value: '<n>', description: 'Stops per route (default 8)' },
  },
  notes: ['Seeding a database that already has the demo data changes nothing; a database with other data is refused.'],
  prepare(values) {
    const options = parseCliInput(SeedDemoOptions, {
      locations: optionalInteger(values, 'locations'),
      routesPerLocation: optionalInteger(values, 'routes'),
      stopsPerRoute: optionalInteger(values, 'stops'),
    }, { routesPerLocation: 'routes', stopsPerRoute: 'stops' });
    return async (ctx) => {
      const result = await seedDemo(ctx, options, operatorActor());
      switch (result.status) {
        case 'seeded':
          return { json: result, text: formatDemoCredentials(result, ctx.config.mfaRequiredRoles) };
        case 'already_seeded':
          return { json: result, text: `The demo dataset is already there (${result.locations.join(', ')}); nothing changed.` };
        case 'not_empty':
          throw conflict('This database already holds locations or users that are not the demo dataset; demo data is only seeded into an empty database.');
      }
    };
  },
};

export const demoCommands = [demoSeed];
