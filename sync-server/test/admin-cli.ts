/**
 * Runs the real `depotline-admin` (bin/depotline-admin.mjs, through tsx) as a child process
 * against a test environment's database and keys, the way an IT admin runs it.
 */
import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/cli/run';
import type { TestEnv } from './harness';

export const adminBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/depotline-admin.mjs');

export interface AdminRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment the server would see for this test database; nothing leaks in from the host's. */
export function adminEnv(env: TestEnv): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    USER: process.env.USER,
    DEPOTLINE_DATA_DIR: env.dir,
    ...(env.databaseUrl ? { DATABASE_URL: env.databaseUrl } : { DEPOTLINE_SQLITE_FILE: env.sqliteFile! }),
    LOG_LEVEL: 'error',
  };
}

export interface AdminOptions {
  stdin?: string;
  extraEnv?: NodeJS.ProcessEnv;
  /**
   * Run the installed binary in a child process (about a second each, for tsx to start)
   * instead of `runCli` in this process. The command code is the same; use it where the
   * binary itself is what is tested (exit codes, the shim, process environment).
   */
  spawn?: boolean;
}

/** Runs one command, in process by default; see `AdminOptions.spawn`. */
export async function runAdmin(env: TestEnv, args: readonly string[], options: AdminOptions = {}): Promise<AdminRun> {
  if (options.spawn) return spawnAdmin(env, args, options);
  const collect = () => {
    const chunks: string[] = [];
    const stream = new PassThrough();
    stream.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
    return { stream, text: () => chunks.join('') };
  };
  const out = collect();
  const err = collect();
  const code = await runCli(args, {
    stdout: out.stream,
    stderr: err.stream,
    stdin: Readable.from(options.stdin ? [options.stdin] : []),
    env: { ...adminEnv(env), ...options.extraEnv },
  });
  await new Promise((r) => setImmediate(r));
  return { code, stdout: out.text(), stderr: err.text() };
}

function spawnAdmin(env: TestEnv, args: readonly string[], options: AdminOptions): Promise<AdminRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [adminBin, ...args], {
      env: { ...adminEnv(env), ...options.extraEnv },
      cwd: env.dir,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** Runs with `--json` and parses stdout (on success) or the error line on stderr. */
export async function runAdminJson<T = Record<string, unknown>>(env: TestEnv, args: readonly string[], options: AdminOptions = {}): Promise<AdminRun & { json: T }> {
  const run = await runAdmin(env, [...args, '--json'], options);
  const text = run.code === 0 || run.code === 3 ? run.stdout : run.stderr;
  let json: T;
  try {
    json = JSON.parse(text) as T;
  } catch {
    throw new Error(`depotline-admin ${args.join(' ')} printed no JSON (exit ${run.code}):\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
  return { ...run, json };
}
