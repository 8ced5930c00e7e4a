import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { newDeviceId, restCall } from '../../test/factories';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { verifyPassword } from '../auth/passwords';
import type { ServerContext } from '../context';
import { readUserImportFile } from '../provisioning/user-import';

/** Rows per table: "nothing written" means none of these moved. */
async function tableCounts(ctx: ServerContext): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['users', 'grants', 'grant_locations', 'audit_log'] as const) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t)}`.execute(ctx.db);
    out[t] = Number(rows[0]!.n);
  }
  return out;
}

interface ImportError { error: { code: string; message: string; rows: { row: number; column: string | null; message: string }[] } }

describe('user import: reading the file', () => {
  const read = (text: string) => readUserImportFile(Buffer.from(text, 'utf8'));

  it('reads RFC 4180 quoting: a comma, a doubled quote and a line break inside quoted cells, CRLF line ends and a BOM', () => {
    const result = read('\uFEFFusername,Display Name,locations\r\nann,"Smith, Ann ""Annie""",depot-north\r\nbob,"Bob\r\nJones","a,b"\r\n');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.columns).toEqual(['username', 'display_name', 'locations']);
    expect(result.sheet.rows).toEqual([
      { row: 2, cells: ['ann', 'Smith, Ann "Annie"', 'depot-north'] },
      { row: 3, cells: ['bob', 'Bob\r\nJones', 'a,b'] },
    ]);
  });

  it('names the header problems: an unknown column, a repeated one, a missing required one', () => {
    const result = read('username,colour,username\nann,red,ann\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { row: 1, column: 'colour', message: expect.stringContaining('unknown column "colour" (column 2)') as string },
      { row: 1, column: 'username', message: 'the column username appears twice' },
      { row: 1, column: 'display_name', message: 'the header has no display_name column' },
    ]);
  });

  it('reports an unclosed quote at the row where it starts, and a file that is not UTF-8', () => {
    const open = read('username,display_name\nann,Ann\nbob,"Bob\n');
    expect(open).toEqual({ ok: false, problems: [{ row: 3, column: null, message: expect.stringContaining('never closed') as string }] });
    const latin1 = readUserImportFile(Buffer.from([...Buffer.from('username,display_name\nmm,M'), 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x0a]));
    expect(latin1).toEqual({ ok: false, problems: [{ row: 1, column: null, message: expect.stringContaining('not UTF-8') as string }] });
  });
});

describe.each(backends)('depotline-admin user import (%s)', (backend) => {
  let server: TestServer;
  let ctx: ServerContext;
  const dir = () => server.env.dir;
  const csv = (name: string, text: string) => {
    const file = path.join(dir(), name);
    fs.writeFileSync(file, text);
    return file;
  };

  beforeAll(async () => {
    server = await startTestServer(backend);
    ctx = server.ctx;
    for (const [id, name] of [['depot-north', 'North'], ['depot-south', 'South']]) {
      expect((await runAdmin(server.env, ['location', 'create', '--id', id!, '--name', name!, '--timezone', 'Europe/Berlin'])).code).toBe(0);
    }
    expect((await runAdmin(server.env, ['group', 'create', '--name', 'no-phones', '--allow', '', '--deny', 'stop.readPhone', '--locations', 'depot-north'])).code).toBe(0);
  });
  afterAll(async () => {
    await server?.close();
  });

  const good = [
    'username,display_name,role,group,locations,expires',
    'Dana.Driver,Dana Driver,driver,,depot-north,',
    'dana.driver,,,no-phones,depot-north,',
    'jo,"Jo, the ""temp""",contractor,,"depot-north,depot-south",2099-12-31',
    'lee,Lee,,,,',
  ].join('\r\n');

  it('lists every problem with its row and column and writes nothing', async () => {
    const file = csv('bad.csv', [
      'username,display_name,role,group,locations,expires',
      'ann,Ann,dispatcher,,depot-north,',
      'ann,Annie,dispatcher,,depot-north;depot-south,',
      'Not A Name,X,driver,,depot-north,',
      'cat,Cat,contractor,,depot-north,',
      'dan,Dan,wizard,,depot-west,2020-01-01',
      'eve,Eve,driver,no-phones,depot-south,',
      'fay,=HYPERLINK("x"),driver,,depot-north,',
      'gus,Gus,,,depot-north,',
      'hal,Hal,driver,depot-north',
      'ann,,,no-phones,depot-south,2099-01-01',
    ].join('\n'));
    const before = await tableCounts(ctx);
    const run = await runAdminJson<ImportError>(server.env, ['user', 'import', '--file', file, '--passwords-out', path.join(dir(), 'never.csv')]);
    expect(run.code).toBe(1);
    expect(run.json.error.code).toBe('invalid_rows');
    const at = (row: number, column: string | null) => run.json.error.rows.filter((r) => r.row === row && r.column === column).map((r) => r.message);
    expect(at(3, 'display_name')).toEqual([expect.stringContaining('differs from row 2') as string]);
    expect(at(3, 'role')).toEqual(['row 2 already grants dispatcher at depot-north to ann']);
    expect(at(4, 'username')).toEqual([expect.stringContaining('"Not A Name"') as string]);
    expect(at(5, 'expires')).toEqual(['is empty: contractor grants must expire']);
    expect(at(6, 'role')).toEqual([expect.stringContaining('"wizard" is not a role') as string]);
    expect(at(6, 'expires')).toEqual([expect.stringContaining('is in the past') as string]);
    expect(at(6, 'locations')).toEqual(['no location depot-west (depotline-admin location list shows them)']);
    expect(at(7, 'group')).toEqual([expect.stringContaining('not both') as string]);
    expect(at(8, 'display_name')).toEqual([expect.stringContaining('formula') as string]);
    expect(at(9, 'locations')).toEqual([expect.stringContaining('no role or group') as string]);
    expect(at(10, null)).toEqual([expect.stringContaining('has 4 cells, the header 6') as string]);
    expect(at(11, 'locations')).toEqual([expect.stringContaining('outside its scope') as string]);
    // Nothing written, not even the passwords file.
    expect(await tableCounts(ctx)).toEqual(before);
    expect(fs.existsSync(path.join(dir(), 'never.csv'))).toBe(false);

    const text = await runAdmin(server.env, ['user', 'import', '--file', file, '--dry-run']);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain('nothing was written');
    expect(text.stderr).toContain('row 6, role: "wizard" is not a role');
  });

  it('a dry run checks against the database and writes nothing; a real run needs --passwords-out', async () => {
    const file = csv('good-dry.csv', good);
    const before = await tableCounts(ctx);
    const dry = await runAdminJson<{ dryRun: boolean; users: { username: string; grants: { role: string | null; groupName: string | null; expiresAt: string | null }[] }[] }>(
      server.env, ['user', 'import', file, '--dry-run'],
    );
    expect(dry.code).toBe(0);
    expect(dry.json.dryRun).toBe(true);
    expect(dry.json.users.map((u) => u.username)).toEqual(['dana.driver', 'jo', 'lee']);
    expect(dry.json.users[1]!.grants).toEqual([expect.objectContaining({ role: 'contractor', expiresAt: '2099-12-31T23:59:59.999Z' })]);
    expect(await tableCounts(ctx)).toEqual(before);

    const missing = await runAdmin(server.env, ['user', 'import', '--file', file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--passwords-out is required');
    expect(await tableCounts(ctx)).toEqual(before);
  });

  it('creates the users and grants in one go, passwords only in a new 0600 file, each one-time, all audited', async () => {
    const file = csv('good.csv', good);
    const out = path.join(dir(), 'passwords.csv');
    const run = await runAdminJson<{ users: { id: string; username: string; grants: { id: string }[] }[]; passwordsFile: string }>(
      server.env, ['user', 'import', '--file', file, '--passwords-out', out],
    );
    expect(run.code).toBe(0);
    expect(run.json.users.map((u) => [u.username, u.grants.length])).toEqual([['dana.driver', 2], ['jo', 1], ['lee', 0]]);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe('username,display_name,password');
    expect(lines[2]).toMatch(/^jo,"Jo, the ""temp""",[a-z0-9-]{23}$/);
    const passwords = new Map(lines.slice(1).map((l) => [l.split(',')[0]!, l.split(',').at(-1)!]));
    // No password anywhere on the terminal.
    for (const p of passwords.values()) expect(run.stdout + run.stderr).not.toContain(p);
    expect(JSON.stringify(run.json)).not.toMatch(/password"/);

    for (const u of run.json.users) {
      const row = await ctx.db.selectFrom('users').selectAll().where('id', '=', u.id).executeTakeFirstOrThrow();
      expect(await verifyPassword(row.password_hash, passwords.get(u.username)!)).toBe(true);
      expect(row.must_change_password).toBe(1);
    }
    // The first sign-in with the generated password is held until a new one is chosen.
    const login = await restCall(server.url, 'POST', '/auth/login', {
      body: { username: 'dana.driver', password: passwords.get('dana.driver'), deviceId: newDeviceId(), deviceName: 'desk 1' },
    });
    expect(login.body).toMatchObject({ status: 'password_change_required' });

    const ids = run.json.users.map((u) => u.id);
    const grantIds = run.json.users.flatMap((u) => u.grants.map((g) => g.id));
    const audited = (action: string, targets: string[]) =>
      ctx.db.selectFrom('audit_log').select(['target_id', 'details']).where('action', '=', action).where('target_id', 'in', targets).execute();
    expect(await audited('user.create', ids)).toHaveLength(3);
    // The contractor's grant names two locations: one entry per location.
    expect(await audited('grant.create', grantIds)).toHaveLength(4);
    const summary = await ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'user.import').execute();
    expect(summary).toHaveLength(1);
    expect(JSON.parse(String(summary[0]!.details))).toMatchObject({ file, users: 3, grants: 3 });

    // The same file again: every username exists now, and the passwords file is never overwritten.
    const again = await runAdminJson<ImportError>(server.env, ['user', 'import', '--file', file, '--passwords-out', path.join(dir(), 'passwords-2.csv')]);
    expect(again.code).toBe(1);
    expect(again.json.error.rows.map((r) => [r.row, r.column])).toEqual([[2, 'username'], [4, 'username'], [5, 'username']]);
    const overwrite = await runAdmin(server.env, ['user', 'import', '--file', csv('other.csv', 'username,display_name\nnew1,New One\n'), '--passwords-out', out]);
    expect(overwrite.code).toBe(1);
    expect(overwrite.stderr).toContain('--passwords-out');
    expect(overwrite.stderr).toContain('never overwritten');
    expect(await ctx.db.selectFrom('users').select('id').where('username', '=', 'new1').executeTakeFirst()).toBeUndefined();
  });
});
