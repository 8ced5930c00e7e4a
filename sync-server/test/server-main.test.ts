/**
 * `npm run server` / `npm run server:demo` as an operator runs them: a real process, its
 * stdout, its exit status, and a clean stop on SIGTERM / SIGINT.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { adminEnv } from './admin-cli';
import { backends, createTestEnv, type TestEnv } from './harness';

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  output: () => { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

function startMain(env: TestEnv, args: string[], extraEnv: NodeJS.ProcessEnv = {}): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: serverDir,
    env: { ...adminEnv(env), PORT: '0', ...extraEnv },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => ({ stdout, stderr }), exited };
}

async function waitForUrl(server: ServerProcess, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output().stdout);
    if (match) return match[1]!;
    if (server.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server did not start:\n${JSON.stringify(server.output(), null, 2)}`);
}

describe.each(backends)('server entry point (%s)', (backend) => {
  let env: TestEnv | null = null;
  const running: ServerProcess[] = [];
  afterEach(async () => {
    for (const s of running.splice(0)) {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
      await s.exited;
    }
    await env?.dispose();
    env = null;
  });

  it('--demo seeds once, prints the credentials, serves, and stops cleanly on SIGTERM and SIGINT', async () => {
    env = await createTestEnv(backend);
    const first = startMain(env, ['--demo']);
    running.push(first);
    const url = await waitForUrl(first);
    const { stdout } = first.output();
    expect(stdout).toMatch(/Seeded the demo dataset: 2 locations \(depot-north, depot-south\)/);
    expect(stdout).toMatch(/^ {2}admin \* +admin +depot-north,depot-south +[a-z2-9]{5}(-[a-z2-9]{5}){3}$/m);
    expect(stdout).toMatch(/^ {2}driver\.north +driver +depot-north +[a-z2-9-]{23}$/m);
    expect(stdout).toContain('enrolls an authenticator app (TOTP) at first sign-in');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = startMain(env, ['--demo']);
    running.push(second);
    await waitForUrl(second);
    expect(second.output().stdout).toContain('Demo data already present (depot-north, depot-south)');
    expect(second.output().stdout).not.toMatch(/[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}/);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  }, 90_000);
});

describe('server entry point configuration errors', () => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('refuses a non-loopback address without TLS, with the message and exit status 1', async () => {
    env = await createTestEnv('sqlite');
    const server = startMain(env, [], { HOST: '0.0.0.0' });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr).toMatch(/Refusing to listen on 0\.0\.0\.0 without TLS/);
    expect(server.output().stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  }, 30_000);

  it('rejects an unknown flag with usage and exit status 2', async () => {
    env = await createTestEnv('sqlite');
    const server = startMain(env, ['--demoo']);
    expect(await server.exited).toBe(2);
    expect(server.output().stderr).toMatch(/Usage: depotline-sync-server \[--demo\]/);
  }, 30_000);
});
