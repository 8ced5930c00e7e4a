import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { buildUser, newDeviceId, restCall } from '../../test/factories';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import type { ServerContext } from '../context';
import type { AppError } from '../errors';
import { type CliCommand, fromStdin, parseCliInput } from './command';
import { commands, flagNamed, isoTimes } from './run';

const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
type Failure = { error: { code: string; message: string; issues?: string[] } };

describe('the CLI speaks in flags and ISO 8601', () => {
  const grantAdd = commands.find((c) => c.group === 'grant' && c.name === 'add')!;
  const rename = commands.find((c) => c.group === 'user' && c.name === 'rename')!;

  it('names the flag the user typed for a service field, and leaves other text alone', () => {
    expect(flagNamed('expiresAt: contractor grants must expire', grantAdd)).toBe('--expires: contractor grants must expire');
    expect(flagNamed('locationIds: the group "x" may not be granted at "y" (outside its scope)', grantAdd)).toBe('--locations: the group "x" may not be granted at "y" (outside its scope)');
    expect(flagNamed('displayName: 1 to 200 characters', rename)).toBe('--name: 1 to 200 characters');
    // A field with no flag on this command stays as the service said it.
    expect(flagNamed('displayName: 1 to 200 characters', grantAdd)).toBe('displayName: 1 to 200 characters');
    expect(flagNamed('--role: "x" is not a role', grantAdd)).toBe('--role: "x" is not a role');
    const command = (group: string, name: string) => commands.find((c) => c.group === group && c.name === name)!;
    expect(flagNamed('permissions: a group allows or denies at least one permission', command('group', 'create'))).toBe('--allow: a group allows or denies at least one permission');
    expect(flagNamed('contactDays: 9999 days is above the most this server allows', command('retention', 'set'))).toBe('--contact-days: 9999 days is above the most this server allows');
    expect(flagNamed('oldEndsAt: the old credential cannot stop in the past', command('integration', 'key rotate'))).toBe('--old-ends: the old credential cannot stop in the past');
    expect(flagNamed('receivedAt: more than a year ago; check the date', command('privacy', 'request-add'))).toBe('--received: more than a year ago; check the date');
  });

  it('every field a command maps lands on a flag of its group (a map may be shared by create and update)', () => {
    const flagsOfGroup = (c: CliCommand) => commands.filter((o) => o.group === c.group).flatMap((o) => Object.keys(o.options));
    for (const c of commands) {
      for (const flag of Object.values(c.fieldFlags ?? {})) expect(flagsOfGroup(c), `${c.group} ${c.name}`).toContain(flag);
    }
  });

  it('parses a command\u2019s input naming flags, or stdin for what was read from it', () => {
    const schema = z.object({ customer: z.object({ phone: z.string() }), locationId: z.string().regex(/^[a-z-]+$/, 'not an id'), expiresAt: z.number().positive('in the future') });
    let issues: string[] = [];
    try {
      parseCliInput(schema, { customer: {}, locationId: 'Bad Id', expiresAt: -1 }, { customer: fromStdin });
    } catch (err) {
      issues = (err as AppError).extra.issues ?? [];
    }
    expect(issues).toEqual([expect.stringMatching(/^stdin\.phone: /), '--location: not an id', '--expires: in the future']);
    try {
      parseCliInput(z.object({ phone: z.string() }), {}, { '*': fromStdin });
    } catch (err) {
      issues = (err as AppError).extra.issues ?? [];
    }
    expect(issues).toEqual([expect.stringMatching(/^stdin\.phone: /)]);
  });

  it('prints times as ISO 8601 in --json, and leaves counts and ids alone', () => {
    const out = JSON.parse(JSON.stringify({ grant: { expiresAt: 4_102_444_799_999, revokedAt: null, createdAt: 0, version: 3, at: 1 }, count: 5 }, isoTimes)) as unknown;
    expect(out).toEqual({ grant: { expiresAt: '2099-12-31T23:59:59.999Z', revokedAt: null, createdAt: '1970-01-01T00:00:00.000Z', version: 3, at: '1970-01-01T00:00:00.001Z' }, count: 5 });
  });
});

describe.each(backends)('depotline-admin accounts, locations and grants (%s)', (backend) => {
  let server: TestServer;
  let ctx: ServerContext;
  beforeAll(async () => {
    server = await startTestServer(backend);
    ctx = server.ctx;
    for (const [id, name] of [['depot-north', 'North'], ['depot-south', 'South']]) {
      expect((await runAdmin(server.env, ['location', 'create', '--id', id!, '--name', name!, '--timezone', 'Europe/Berlin'])).code).toBe(0);
    }
  });
  afterAll(async () => {
    await server?.close();
  });
  const admin = <T = Record<string, unknown>>(args: string[]) => runAdminJson<T>(server.env, args);

  it('renames: the display name always, the username only of an account that never signed in', async () => {
    expect((await admin(['user', 'create', '--username', 'newbie', '--name', 'New Bee'])).code).toBe(0);
    const renamed = await admin<{ user: { username: string; displayName: string }; changed: string[] }>(['user', 'rename', '--user', 'newbie', '--username', 'nbee', '--name', 'Nora Bee']);
    expect(renamed.json).toMatchObject({ user: { username: 'nbee', displayName: 'Nora Bee' }, changed: ['username', 'displayName'] });
    const audit = await ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'user.rename').executeTakeFirstOrThrow();
    expect(JSON.parse(String(audit.details))).toEqual({ username: { from: 'newbie', to: 'nbee' }, displayName: { from: 'New Bee', to: 'Nora Bee' } });

    // Someone who has signed in: their desks keep an offline profile under the username.
    const used = await buildUser(ctx, { role: 'driver', locationIds: ['depot-north'] });
    const login = await restCall(server.url, 'POST', '/auth/login', { body: { username: used.username, password: used.password, deviceId: newDeviceId(), deviceName: 'desk' } });
    expect(login.body).toMatchObject({ status: 'ok' });
    const refused = await admin<Failure>(['user', 'rename', '--user', used.username, '--username', 'someone-else']);
    expect(refused.code).toBe(1);
    expect(refused.json.error.message).toContain('has signed in before');
    const display = await admin<{ user: { username: string; displayName: string } }>(['user', 'rename', '--user', used.username, '--name', 'Renamed Person']);
    expect(display.json.user).toEqual(expect.objectContaining({ username: used.username, displayName: 'Renamed Person' }));

    const taken = await admin<Failure>(['user', 'rename', '--user', 'nbee', '--username', used.username]);
    expect(taken).toMatchObject({ code: 1, json: { error: { code: 'conflict' } } });
    const bad = await admin<Failure>(['user', 'rename', '--user', 'nbee', '--username', 'Not Valid']);
    expect(bad.json.error.issues?.[0]).toMatch(/^--username: /);
    expect((await runAdmin(server.env, ['user', 'rename', '--user', 'nbee'])).code).toBe(2);
  });

  it('edits a location\u2019s name and time zone, audited; an unknown zone names --timezone', async () => {
    const edited = await admin<{ location: { id: string; name: string; timezone: string; createdAt: string }; changed: string[] }>(
      ['location', 'edit', '--id', 'depot-south', '--name', 'South Hall', '--timezone', 'Europe/London'],
    );
    expect(edited.json).toMatchObject({ location: { id: 'depot-south', name: 'South Hall', timezone: 'Europe/London' }, changed: ['name', 'timezone'] });
    expect(edited.json.location.createdAt).toMatch(iso);
    const row = await ctx.db.selectFrom('locations').selectAll().where('id', '=', 'depot-south').executeTakeFirstOrThrow();
    expect([row.name, row.timezone]).toEqual(['South Hall', 'Europe/London']);
    const audit = await ctx.db.selectFrom('audit_log').select(['details', 'location_id']).where('action', '=', 'location.edit').executeTakeFirstOrThrow();
    expect(audit.location_id).toBe('depot-south');
    expect(JSON.parse(String(audit.details))).toEqual({ name: { from: 'South', to: 'South Hall' }, timezone: { from: 'Europe/Berlin', to: 'Europe/London' } });

    const zone = await admin<Failure>(['location', 'edit', '--id', 'depot-south', '--timezone', 'Mars/Olympus']);
    expect(zone.json.error.issues).toEqual([expect.stringMatching(/^--timezone: /)]);
    expect((await admin<Failure>(['location', 'edit', '--id', 'depot-nowhere', '--name', 'X'])).json.error.code).toBe('not_found');
  });

  it('lists grants by location, refuses a duplicate grant, and names --expires and --locations in service errors', async () => {
    expect((await admin(['user', 'create', '--username', 'disp', '--name', 'Dee Spatcher'])).code).toBe(0);
    const first = await admin<{ grant: { id: string; expiresAt: string | null; createdAt: string } }>(['grant', 'add', '--user', 'disp', '--role', 'dispatcher', '--locations', 'depot-north,depot-south']);
    expect(first.code).toBe(0);
    expect(first.json.grant.createdAt).toMatch(iso);

    const dup = await admin<Failure>(['grant', 'add', '--user', 'disp', '--role', 'dispatcher', '--locations', 'depot-south']);
    expect(dup.code).toBe(1);
    expect(dup.json.error.code).toBe('conflict');
    expect(dup.json.error.message).toContain(`disp already holds dispatcher at depot-south with no expiry (grant ${first.json.grant.id})`);
    expect(await ctx.db.selectFrom('grants').select('id').where('user_id', '=', (await ctx.db.selectFrom('users').select('id').where('username', '=', 'disp').executeTakeFirstOrThrow()).id).execute()).toHaveLength(1);
    // A different expiry is not a duplicate: it is how access is renewed without a gap.
    const renewal = await admin(['grant', 'add', '--user', 'disp', '--role', 'dispatcher', '--locations', 'depot-south', '--expires', '2099-06-30']);
    expect(renewal.code).toBe(0);

    const contractor = await admin<Failure>(['grant', 'add', '--user', 'disp', '--role', 'contractor', '--locations', 'depot-north']);
    expect(contractor.json.error.issues).toEqual(['--expires: contractor grants must expire']);
    const past = await admin<Failure>(['grant', 'add', '--user', 'disp', '--role', 'driver', '--locations', 'depot-north', '--expires', '2020-01-01']);
    expect(past.json.error.issues).toEqual(['--expires: must be in the future']);
    expect((await admin(['group', 'create', '--name', 'north-only', '--allow', 'location.read', '--locations', 'depot-north'])).code).toBe(0);
    const scope = await admin<Failure>(['grant', 'add', '--user', 'disp', '--group', 'north-only', '--locations', 'depot-south']);
    expect(scope.json.error.issues).toEqual([expect.stringMatching(/^--locations: the group "north-only" may not be granted at "depot-south"/)]);
    const since = await admin<Failure>(['integration', 'logs', '--integration', 'nobody', '--since', 'yesterday']);
    expect(since.json.error.issues).toEqual([expect.stringMatching(/^--since: use an ISO 8601 date/)]);

    const north = await admin<{ grants: { username: string; role: string; status: string; expiresAt: string | null }[] }>(['grant', 'list', '--location', 'depot-north']);
    expect(north.json.grants).toEqual([
      expect.objectContaining({ username: 'disp', role: 'dispatcher', status: 'active', expiresAt: null }),
      // The renamed driver of the first test.
      expect.objectContaining({ role: 'driver', status: 'active' }),
    ]);
    const south = await runAdmin(server.env, ['grant', 'list', '--location', 'depot-south']);
    expect(south.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/\tdisp\tdispatcher\tdepot-south\texpires 2099-06-30T23:59:59\.999Z\tactive$/),
      expect.stringMatching(/\tdisp\tdispatcher\tdepot-north,depot-south\texpires never\tactive$/),
    ]);
    expect((await admin<Failure>(['grant', 'list', '--location', 'depot-west'])).json.error.code).toBe('not_found');
    expect((await runAdmin(server.env, ['grant', 'list'])).code).toBe(2);
  });
});
