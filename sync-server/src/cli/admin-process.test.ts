import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBin, adminEnv, runAdminJson } from '../../test/admin-cli';
import { createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';

/**
 * The admin CLI as an IT admin runs it: a real process, through the README's command
 * (`npm run -s admin -- ...`) or the installed bin, with pipes.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// Each run is a fresh Node process loading TypeScript through tsx (npm adds its own start): allow for a busy machine.
const processTimeout = 180_000;

interface Ran { code: number | null; stdout: string; stderr: string }

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd = repoRoot): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, USER: process.env.USER, LOG_LEVEL: 'error' });

describe('depotline-admin as a process (sqlite)', () => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeAll(async () => {
    env = await createTestEnv('sqlite');
    ctx = await createTestContext(env);
    // Enough output that `| head -n 1` closes the pipe while the CLI is still writing.
    const now = Date.now();
    const rows = Array.from({ length: 3000 }, (_, i) => ({ id: `depot-${String(i).padStart(4, '0')}`, name: `Depot number ${i} with a long name`, timezone: 'Europe/Berlin', version: 0, created_at: now }));
    for (let i = 0; i < rows.length; i += 500) await ctx.db.insertInto('locations').values(rows.slice(i, i + 500)).execute();
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  it('--json through the README\u2019s `npm run -s admin` is one parseable document: no npm noise on stdout, ISO 8601 times', async () => {
    const ran = await run('npm', ['run', '-s', 'admin', '--', 'location', 'list', '--json'], { ...baseEnv(), ...adminEnv(env) });
    expect(ran.code).toBe(0);
    const parsed = JSON.parse(ran.stdout) as { locations: { id: string; createdAt: string }[] };
    expect(parsed.locations).toHaveLength(3000);
    expect(parsed.locations[0]!.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    // An error under --json is one JSON line on stderr, and stdout stays empty.
    const failed = await run('npm', ['run', '-s', 'admin', '--', 'grant', 'add', '--user', 'nobody', '--role', 'driver', '--locations', 'depot-0001', '--expires', 'soon', '--json'], { ...baseEnv(), ...adminEnv(env) });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(JSON.parse(failed.stderr.trim())).toMatchObject({ error: { code: 'bad_request', issues: [expect.stringMatching(/^--expires: /)] } });
  }, processTimeout);

  it('a pipe closed early (`| head -n 1`) ends the command quietly with exit 0', async () => {
    for (const format of [[], ['--json']]) {
      const script = `"${process.execPath}" "${adminBin}" location list ${format.join(' ')} | head -n 1; echo "exit=\${PIPESTATUS[0]}" >&2`;
      const ran = await run('bash', ['-c', script], { ...baseEnv(), ...adminEnv(env) });
      expect(ran.stdout.trim().split('\n')).toHaveLength(1);
      expect(ran.stderr.trim()).toBe('exit=0');
    }
  }, processTimeout);

  it('refuses a data directory that does not exist, or holds no installation, and creates nothing there', async () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-datadir-'));
    try {
      const typo = path.join(scratch, 'deptoline-data');
      const missing = await run(process.execPath, [adminBin, 'user', 'list', '--json'], { ...baseEnv(), DEPOTLINE_DATA_DIR: typo });
      expect(missing.code).toBe(1);
      expect(JSON.parse(missing.stderr.trim())).toMatchObject({ error: { code: 'config', message: expect.stringContaining(`DEPOTLINE_DATA_DIR is ${typo}, which does not exist`) as string } });
      expect(fs.existsSync(typo)).toBe(false);

      // Without DEPOTLINE_DATA_DIR the default is .data in the working directory: said so, and not created.
      const unset = await run(process.execPath, [adminBin, 'user', 'list'], baseEnv(), scratch);
      expect(unset.code).toBe(1);
      expect(unset.stderr).toContain('DEPOTLINE_DATA_DIR is not set, so the data directory is .data in the working directory');
      expect(fs.existsSync(path.join(scratch, '.data'))).toBe(false);

      const empty = path.join(scratch, 'empty');
      fs.mkdirSync(empty);
      const noDb = await run(process.execPath, [adminBin, 'location', 'create', '--id', 'depot-x', '--name', 'X', '--timezone', 'UTC'], { ...baseEnv(), DEPOTLINE_DATA_DIR: empty });
      expect(noDb.code).toBe(1);
      expect(noDb.stderr).toContain('No database in');
      expect(noDb.stderr).toContain('db migrate');
      expect(fs.readdirSync(empty)).toEqual([]);

      // The explicit start of an installation, then the same command works.
      const init = await run(process.execPath, [adminBin, 'db', 'migrate'], { ...baseEnv(), DEPOTLINE_DATA_DIR: empty });
      expect(init.code).toBe(0);
      expect(fs.existsSync(path.join(empty, 'depotline.sqlite'))).toBe(true);
      expect(fs.existsSync(path.join(empty, 'keys', 'field.key'))).toBe(true);
      const created = await run(process.execPath, [adminBin, 'location', 'create', '--id', 'depot-x', '--name', 'X', '--timezone', 'UTC'], { ...baseEnv(), DEPOTLINE_DATA_DIR: empty });
      expect(created.code).toBe(0);

      // A database whose data directory has no field key (DEPOTLINE_SQLITE_FILE right, DEPOTLINE_DATA_DIR wrong): no new key is made.
      const otherDir = path.join(scratch, 'other');
      fs.mkdirSync(otherDir);
      const wrongKeys = await run(process.execPath, [adminBin, 'location', 'list'], { ...baseEnv(), DEPOTLINE_DATA_DIR: otherDir, DEPOTLINE_SQLITE_FILE: path.join(empty, 'depotline.sqlite') });
      expect(wrongKeys.code).toBe(1);
      expect(wrongKeys.stderr).toContain('holds no field key');
      expect(fs.readdirSync(otherDir)).toEqual([]);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }, processTimeout);
});

describe('depotline-admin on an empty PostgreSQL database', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv('postgres');
  });
  afterAll(async () => {
    await env?.dispose();
  });

  it('refuses a database without the schema until `db migrate` sets it up', async () => {
    const refused = await runAdminJson<{ error: { code: string; message: string } }>(env, ['location', 'list']);
    expect(refused.code).toBe(1);
    expect(refused.json.error).toMatchObject({ code: 'config', message: expect.stringContaining('holds no Depotline tables') as string });
    expect((await runAdminJson(env, ['db', 'migrate'])).code).toBe(0);
    expect(await runAdminJson(env, ['location', 'list'])).toMatchObject({ code: 0, json: { locations: [] } });
  });
});
