import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { removeAppendOnlyGuards } from '../../test/audit-chain';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import { verifyPassword } from '../auth/passwords';
import type { ServerContext } from '../context';

/** Rows per table: "nothing written" means none of these moved. */
async function tableCounts(ctx: ServerContext): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['locations', 'users', 'grants', 'sessions', 'drivers', 'vehicles', 'changes', 'audit_log'] as const) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t)}`.execute(ctx.db);
    out[t] = Number(rows[0]!.n);
  }
  return out;
}

// Each command is a fresh Node process loading TypeScript through tsx: allow for a busy machine.
const cliTimeout = 180_000;

const osUser = (() => {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
})();

describe.each(backends)('depotline-admin end to end (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  it('creates locations, a user with a generated password and a grant, all audited as the OS user', async () => {
    const north = await runAdminJson(env, ['location', 'create', '--id', 'depot-north', '--name', 'North Depot', '--timezone', 'Europe/Berlin']);
    expect(north).toMatchObject({ code: 0, json: { location: { id: 'depot-north', name: 'North Depot', timezone: 'Europe/Berlin' } } });
    expect((await runAdminJson(env, ['location', 'create', '--id', 'depot-south', '--name', 'South Depot', '--timezone', 'Europe/London'])).code).toBe(0);

    const created = await runAdminJson<{ user: { id: string; username: string }; password: string }>(env, ['user', 'create', '--username', 'JDoe', '--name', 'Jane Doe']);
    expect(created.code).toBe(0);
    expect(created.json.user.username).toBe('jdoe');
    // The printed password is the real one: it verifies against the stored argon2id hash.
    const row = await ctx.db.selectFrom('users').selectAll().where('username', '=', 'jdoe').executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(row.password_hash, created.json.password)).toBe(true);

    const grant = await runAdminJson<{ grant: { id: string; role: string; locationIds: string[]; expiresAt: number | null } }>(
      env, ['grant', 'add', '--user', 'jdoe', '--role', 'dispatcher', '--locations', 'depot-north, depot-south'],
    );
    expect(grant.code).toBe(0);
    expect(grant.json.grant).toMatchObject({ role: 'dispatcher', locationIds: ['depot-north', 'depot-south'], expiresAt: null });

    const audit = await ctx.db.selectFrom('audit_log').select(['action', 'actor', 'actor_user_id']).orderBy('seq').execute();
    // The two-location grant is audited at each location.
    expect(audit.map((a) => a.action)).toEqual(['location.create', 'location.create', 'user.create', 'grant.create', 'grant.create']);
    expect(new Set(audit.map((a) => a.actor))).toEqual(new Set([`cli:${osUser}`]));
    expect(JSON.stringify(audit)).not.toContain(created.json.password);
  }, cliTimeout);

  it('takes a password from stdin without echoing it, and refuses a weak one with nothing written', async () => {
    const password = `amber kettle ${crypto.randomBytes(4).toString('hex')} lantern`;
    const run = await runAdminJson<{ user: { id: string }; password?: string }>(env, ['user', 'create', '--username', 'asmith', '--name', 'Ann Smith', '--password-stdin'], { stdin: `${password}\n` });
    expect(run.code).toBe(0);
    expect(run.json.password).toBeUndefined();
    expect(run.stdout).not.toContain(password);
    const row = await ctx.db.selectFrom('users').select('password_hash').where('id', '=', run.json.user.id).executeTakeFirstOrThrow();
    expect(await verifyPassword(row.password_hash, password)).toBe(true);

    const before = await tableCounts(ctx);
    const weak = await runAdminJson(env, ['user', 'create', '--username', 'weakling', '--name', 'Wes Weak', '--password-stdin'], { stdin: 'password1\n' });
    expect(weak).toMatchObject({ code: 1, json: { error: { code: 'weak_password' } } });
    expect(await tableCounts(ctx)).toEqual(before);
  }, cliTimeout);

  it('answers bad input with exit 1, a clear message and no change', async () => {
    const before = await tableCounts(ctx);
    const cases: [string[], string, RegExp][] = [
      [['location', 'create', '--id', 'depot-x', '--name', 'X', '--timezone', 'Mars/Olympus'], 'bad_request', /--timezone: use an IANA time zone/],
      [['location', 'create', '--id', 'depot north!', '--name', 'X', '--timezone', 'UTC'], 'bad_request', /--id: ids use letters/],
      [['location', 'create', '--id', 'depot-north', '--name', 'Again', '--timezone', 'UTC'], 'conflict', /already exists/],
      [['grant', 'add', '--user', 'jdoe', '--role', 'wizard', '--locations', 'depot-north'], 'bad_request', /"wizard" is not a role/],
      [['grant', 'add', '--user', 'nobody', '--role', 'finance', '--locations', 'depot-north'], 'not_found', /The user nobody was not found/],
      [['grant', 'add', '--user', 'jdoe', '--role', 'finance', '--locations', 'depot-nowhere'], 'not_found', /locations/],
      [['grant', 'add', '--user', 'jdoe', '--role', 'contractor', '--locations', 'depot-north'], 'bad_request', /must expire/],
      [['grant', 'add', '--user', 'jdoe', '--role', 'finance', '--locations', 'depot-north', '--expires', 'next tuesday'], 'bad_request', /--expires: use an ISO 8601 date/],
      [['grant', 'add', '--user', 'jdoe', '--role', 'finance', '--locations', 'depot-north', '--expires', '2020-01-01'], 'bad_request', /future/],
      [['grant', 'revoke', '--id', 'no-such-grant'], 'not_found', /grant/],
      [['mfa', 'reset', '--user', 'ghost'], 'not_found', /ghost/],
      [['driver', 'create', '--location', 'depot-nowhere', '--name', 'Dana'], 'not_found', /depot-nowhere/],
      [['demo', 'seed', '--locations', '500'], 'bad_request', /--locations/],
      [['demo', 'seed'], 'conflict', /not the demo dataset/],
    ];
    for (const [args, code, message] of cases) {
      const run = await runAdminJson<{ error: { code: string; message: string; issues?: string[] } }>(env, args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.json.error.code, args.join(' ')).toBe(code);
      expect([run.json.error.message, ...(run.json.error.issues ?? [])].join('\n'), args.join(' ')).toMatch(message);
    }
    // Without --json the same error is a readable line on stderr.
    const human = await runAdmin(env, ['grant', 'add', '--user', 'jdoe', '--role', 'wizard', '--locations', 'depot-north']);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/^depotline-admin: Invalid input:\n {2}--role: "wizard" is not a role/);
    expect(await tableCounts(ctx)).toEqual(before);
  }, cliTimeout);

  it('lists and revokes grants; revoking twice changes nothing the second time', async () => {
    const list = await runAdminJson<{ grants: { id: string; status: string; role: string }[] }>(env, ['grant', 'list', '--user', 'jdoe']);
    expect(list.json.grants).toEqual([expect.objectContaining({ role: 'dispatcher', status: 'active' })]);
    const id = list.json.grants[0]!.id;
    expect(await runAdminJson(env, ['grant', 'revoke', '--id', id])).toMatchObject({ code: 0, json: { changed: true, grant: { id, revokedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/) as unknown } } });
    expect(await runAdminJson(env, ['grant', 'revoke', '--id', id])).toMatchObject({ code: 0, json: { changed: false } });
    const after = await runAdminJson<{ grants: { status: string }[] }>(env, ['grant', 'list', '--user', 'jdoe']);
    expect(after.json.grants.map((g) => g.status)).toEqual(['revoked']);

    const temp = await runAdminJson<{ grant: { expiresAt: number } }>(env, ['grant', 'add', '--user', 'asmith', '--role', 'contractor', '--locations', 'depot-south', '--expires', '2099-12-31']);
    expect(temp.code).toBe(0);
    expect(new Date(temp.json.grant.expiresAt).toISOString()).toBe('2099-12-31T23:59:59.999Z');
  }, cliTimeout);

  it('revokes sessions one by one or all of a user, resets MFA and disables the user', async () => {
    const user = await ctx.db.selectFrom('users').select('id').where('username', '=', 'jdoe').executeTakeFirstOrThrow();
    const now = Date.now();
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await ctx.db.insertInto('sessions').values(ids.map((id, i) => ({
      id, user_id: user.id, device_id: `device-${i}`, device_name: null, ip: null, created_at: now, last_seen_at: now, expires_at: now + 3_600_000, revoked_at: null, revoke_reason: null,
    }))).execute();
    await ctx.db.updateTable('users').set({ totp_secret_enc: 'v1.x.y.z', totp_enrolled_at: now }).where('id', '=', user.id).execute();

    expect(await runAdminJson(env, ['session', 'revoke', '--id', ids[0]!])).toMatchObject({ code: 0, json: { revoked: 1 } });
    expect(await runAdminJson(env, ['session', 'revoke', '--id', 'no-such-session'])).toMatchObject({ code: 1, json: { error: { code: 'not_found' } } });
    expect(await runAdminJson(env, ['session', 'revoke', '--user', 'jdoe'])).toMatchObject({ code: 0, json: { revoked: 2 } });
    const open = await ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).where('revoked_at', 'is', null).execute();
    expect(open).toEqual([]);

    expect(await runAdminJson(env, ['mfa', 'reset', '--user', 'jdoe'])).toMatchObject({ code: 0, json: { wasEnrolled: true } });
    const reset = await ctx.db.selectFrom('users').select(['totp_secret_enc', 'totp_enrolled_at']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(reset).toEqual({ totp_secret_enc: null, totp_enrolled_at: null });

    expect(await runAdminJson(env, ['user', 'disable', '--user', 'jdoe', '--reason', 'left the company'])).toMatchObject({ code: 0, json: { changed: true } });
    expect(await runAdminJson(env, ['user', 'disable', '--user', 'jdoe'])).toMatchObject({ code: 0, json: { changed: false } });
    const actions = (await ctx.db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['session.revoke', 'session.revoke_all', 'mfa.reset', 'user.disable']));
  }, cliTimeout);

  it('adds drivers and vehicles that consoles pull through the change log', async () => {
    await runAdminJson(env, ['user', 'create', '--username', 'dana', '--name', 'Dana Driver']);
    const driver = await runAdminJson<{ driver: { id: string; userId: string | null } }>(env, ['driver', 'create', '--location', 'depot-north', '--name', 'Dana Driver', '--user', 'dana']);
    expect(driver.code).toBe(0);
    const dana = await ctx.db.selectFrom('users').select('id').where('username', '=', 'dana').executeTakeFirstOrThrow();
    expect(driver.json.driver.userId).toBe(dana.id);
    const vehicle = await runAdminJson<{ vehicle: { id: string } }>(env, ['vehicle', 'create', '--location', 'depot-north', '--label', 'Van 7', '--plate', 'B-DL 707', '--id', 'veh-7']);
    expect(vehicle).toMatchObject({ code: 0, json: { vehicle: { id: 'veh-7', label: 'Van 7', plate: 'B-DL 707', locationId: 'depot-north' } } });
    const changes = await ctx.db.selectFrom('changes').select(['entity', 'entity_id', 'version']).where('location_id', '=', 'depot-north').orderBy('version').execute();
    expect(changes).toEqual([
      { entity: 'driver', entity_id: driver.json.driver.id, version: 1 },
      { entity: 'vehicle', entity_id: 'veh-7', version: 2 },
    ]);
    expect(await runAdminJson(env, ['vehicle', 'create', '--location', 'depot-north', '--label', 'Van 8', '--plate', 'X', '--id', 'veh-7'])).toMatchObject({ code: 1, json: { error: { code: 'conflict' } } });
  }, cliTimeout);

  it('verifies the audit log (exit 0), and after a row is edited in the database reports it (exit 3)', async () => {
    const ok = await runAdminJson<{ ok: boolean; entries: number }>(env, ['audit', 'verify']);
    const total = await ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(ok).toMatchObject({ code: 0, json: { ok: true, entries: Number(total.n) } });
    expect((await runAdmin(env, ['audit', 'verify'])).stdout).toMatch(/^Audit log intact: \d+ entries/);

    const file = path.join(env.dir, 'audit.jsonl');
    const exported = await runAdminJson<{ exported: number; verify: { ok: boolean } }>(env, ['audit', 'export', '--out', file]);
    expect(exported).toMatchObject({ code: 0, json: { exported: Number(total.n) + 1, verify: { ok: true } } });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-2)).toMatchObject({ action: 'audit.export', actor: `cli:${osUser}` });
    expect(lines.at(-1)).toMatchObject({ type: 'summary', verify: { ok: true } });
    // Reading the log is itself in the log, with how much was read.
    const read = await ctx.db.selectFrom('audit_log').select(['action', 'actor', 'details']).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    expect(read).toMatchObject({ action: 'audit.read', actor: `cli:${osUser}` });
    expect(JSON.parse(read.details)).toEqual({ via: 'cli export', filters: { locationId: null, after: 0 }, returned: Number(total.n) + 1, destination: file });
    expect(await runAdminJson(env, ['audit', 'export', '--out', file])).toMatchObject({ code: 1, json: { error: { code: 'bad_request' } } });

    const north = await runAdmin(env, ['audit', 'export', '--location', 'depot-north']);
    expect(north.code).toBe(0);
    const northLines = north.stdout.trim().split('\n').map((l) => JSON.parse(l) as { locationId?: string; type?: string });
    expect(northLines.length).toBeGreaterThan(2);
    expect(northLines.slice(0, -1).every((e) => e.locationId === 'depot-north')).toBe(true);
    expect(north.stderr).toMatch(/Audit log intact/);

    await removeAppendOnlyGuards(ctx.db);
    await sql`update audit_log set outcome = 'denied' where seq = 3`.execute(ctx.db);
    const broken = await runAdminJson<{ ok: boolean; firstBroken: { seq: number; reason: string } }>(env, ['audit', 'verify']);
    expect(broken).toMatchObject({ code: 3, json: { ok: false, entries: 2, firstBroken: { seq: 3, reason: 'altered' } } });
    const human = await runAdmin(env, ['audit', 'verify']);
    expect(human.code).toBe(3);
    expect(human.stdout).toMatch(/AUDIT LOG BROKEN at seq 3 \(altered\)/);
  }, cliTimeout);
});

describe('depotline-admin before any database exists', () => {
  it('answers a malformed command line with exit 2 and usage help, and writes nothing', async () => {
    const env = await createTestEnv('sqlite');
    try {
      for (const args of [
        [], ['frobnicate'], ['grant'], ['grant', 'explode'], ['location', 'create', '--id', 'depot-y'],
        ['location', 'create', '--id', 'depot-y', '--name', 'Y', '--timezone', 'UTC', '--colour', 'red'],
        ['location', 'create', 'depot-y'], ['session', 'revoke'], ['session', 'revoke', '--id', 'a', '--user', 'jdoe'],
      ]) {
        const run = await runAdmin(env, args);
        expect(run.code, args.join(' ')).toBe(2);
        expect(run.stdout, args.join(' ')).toBe('');
        expect(run.stderr.length, args.join(' ')).toBeGreaterThan(10);
      }
      const json = await runAdminJson(env, ['location', 'create', '--name', 'Y']);
      expect(json).toMatchObject({ code: 2, json: { error: { code: 'usage', message: expect.stringContaining('--id is required') as unknown } } });
      expect(fs.existsSync(env.sqliteFile!)).toBe(false);

      const help = await runAdmin(env, ['grant', 'add', '--help'], { spawn: true });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: depotline-admin grant add --user <username> --locations <id,id,...>');
      expect(help.stdout).toContain('--role <role>');
      expect(help.stdout).toContain('--group <name>');
      const top = await runAdmin(env, ['--help'], { spawn: true });
      expect(top.code).toBe(0);
      for (const c of ['location create', 'user create', 'user disable', 'grant add', 'grant revoke', 'grant list', 'mfa reset', 'session revoke', 'driver create', 'vehicle create', 'demo seed', 'audit verify', 'audit export', 'group create', 'access show']) {
        expect(top.stdout).toContain(c);
      }
    } finally {
      await env.dispose();
    }
  }, cliTimeout);

  it('writes nothing at all for a wrong command line, bad input or a missing installation; db migrate sets one up', async () => {
    const env = await createTestEnv('sqlite');
    try {
      expect((await runAdmin(env, ['location', 'create', '--id', 'depot-z'])).code).toBe(2);
      expect((await runAdmin(env, ['location', 'create', '--id', 'depot-z', '--name', 'Z', '--timezone', 'Nowhere/Land'])).code).toBe(1);
      expect((await runAdmin(env, ['grant', 'add', '--user', 'x', '--role', 'finance', '--locations', 'a', '--expires', '31/12/2026'])).code).toBe(1);
      expect(fs.existsSync(env.sqliteFile!)).toBe(false);
      expect(fs.existsSync(path.join(env.dir, 'keys'))).toBe(false);
      // A good command line, but no installation here yet: refused, not started afresh (cli/installation.ts).
      const early = await runAdmin(env, ['location', 'create', '--id', 'depot-z', '--name', 'Z', '--timezone', 'UTC']);
      expect(early.code).toBe(1);
      expect(early.stderr).toContain('No database at DEPOTLINE_SQLITE_FILE');
      expect(fs.existsSync(env.sqliteFile!)).toBe(false);
      expect(fs.existsSync(path.join(env.dir, 'keys'))).toBe(false);
      expect((await runAdmin(env, ['db', 'migrate'])).code).toBe(0);
      const ok = await runAdmin(env, ['location', 'create', '--id', 'depot-z', '--name', 'Z', '--timezone', 'UTC'], { spawn: true });
      expect(ok).toMatchObject({ code: 0, stdout: 'Created location depot-z (Z, UTC).\n' });
      expect(fs.existsSync(env.sqliteFile!)).toBe(true);
    } finally {
      await env.dispose();
    }
  }, cliTimeout);

  it('reports configuration errors with exit 1 and the setting to fix', async () => {
    const env = await createTestEnv('sqlite');
    try {
      const port = await runAdmin(env, ['location', 'list'], { extraEnv: { PORT: 'eighty' }, spawn: true });
      expect(port.code).toBe(1);
      expect(port.stderr).toMatch(/PORT/);
      expect(fs.existsSync(env.sqliteFile!)).toBe(false);
      const key = await runAdminJson(env, ['db', 'migrate'], { extraEnv: { DEPOTLINE_FIELD_KEY: 'too-short' } });
      expect(key).toMatchObject({ code: 1, json: { error: { code: 'config', message: expect.stringMatching(/32 bytes/) as unknown } } });
    } finally {
      await env.dispose();
    }
  }, cliTimeout);
});
