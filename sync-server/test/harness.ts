/**
 * Test harness: real databases (a fresh SQLite file, or a fresh PostgreSQL database on the
 * cluster `npm test` starts) and real servers on loopback port 0. Every integration suite
 * runs once per backend with `describe.each(backends)`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type ServerConfig } from '../src/config';
import type { Logger, ServerContext } from '../src/context';
import { createContext, startServer, type RunningServer } from '../src/server';

export type Backend = 'sqlite' | 'postgres';
export const backends: Backend[] = ['sqlite', 'postgres'];

function pgBaseUrl(): string {
  const url = process.env.DEPOTLINE_TEST_PG_URL;
  if (!url) {
    throw new Error('DEPOTLINE_TEST_PG_URL is not set: run the suite with `npm test`, which starts a throwaway PostgreSQL.');
  }
  return url;
}

const silent = { error: () => {}, info: () => {}, debug: () => {} };
const loud = process.env.DEPOTLINE_TEST_LOG === '1';

export interface TestEnv {
  backend: Backend;
  dir: string;
  config: ServerConfig;
  /** For PostgreSQL: the database's connection string (tests inspect it directly). */
  databaseUrl: string | null;
  sqliteFile: string | null;
  dispose(): Promise<void>;
}

/** A fresh, empty database and key directory for one test file or test. */
export async function createTestEnv(backend: Backend, overrides: Partial<ServerConfig> = {}): Promise<TestEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-test-'));
  let database: ServerConfig['database'];
  let databaseUrl: string | null = null;
  let dropDb: (() => Promise<void>) | null = null;
  if (backend === 'postgres') {
    const name = `depotline_test_${crypto.randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgBaseUrl() });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(pgBaseUrl());
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    database = { kind: 'postgres', url: databaseUrl };
    dropDb = async () => {
      const c = new pg.Client({ connectionString: pgBaseUrl() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  } else {
    database = { kind: 'sqlite', file: path.join(dir, 'server.sqlite') };
  }
  // The production defaults (an empty environment), with only what a test server needs changed.
  const config: ServerConfig = {
    ...loadConfig({}),
    port: 0,
    database,
    dataDir: dir,
    // Like the generated keys, signed audit checkpoints go under this test's own data directory.
    checkpoints: { ...loadConfig({}).checkpoints, dir: path.join(dir, 'audit-checkpoints') },
    // Proof files too: test files running side by side must not count or delete each other's.
    proofs: { ...loadConfig({}).proofs, dir: path.join(dir, 'proofs') },
    allowedOrigins: new Set(['app://depotline']),
    logLevel: loud ? 'debug' : 'silent',
    // Test clients sign in from a fresh device id at every turn; holding those for approval is
    // exercised by the tests that turn it on (auth/device-approval.test.ts).
    deviceApprovalRoles: new Set(),
    ...overrides,
  };
  return {
    backend,
    dir,
    config,
    databaseUrl,
    sqliteFile: database.kind === 'sqlite' ? database.file : null,
    async dispose() {
      if (dropDb) await dropDb();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function createTestContext(env: TestEnv): Promise<ServerContext> {
  return createContext(env.config, loud ? undefined : silent);
}

export interface TestServer extends RunningServer {
  env: TestEnv;
  /** Stops the server and deletes its database. */
  dispose(): Promise<void>;
}

/**
 * A real sync-server on 127.0.0.1, port 0, with a fresh database. `options.now` replaces the
 * server's clock (tests of timeouts and TOTP steps move it by hand).
 */
export async function startTestServer(backend: Backend, overrides: Partial<ServerConfig> = {}, options: { now?: () => number } = {}): Promise<TestServer> {
  const env = await createTestEnv(backend, overrides);
  const ctx = await createTestContext(env);
  if (options.now) ctx.now = options.now;
  const running = await startServer(ctx);
  return {
    ...running,
    env,
    async dispose() {
      await running.close();
      await env.dispose();
    },
  };
}

/**
 * Another server on an existing test environment's database, as a second process would be
 * (its own pool, Redis connections and Socket.IO server). Closing it leaves the database.
 * `log` replaces parts of the (silent) logger, for tests of what the server logs.
 */
export async function startServerOn(env: TestEnv, log?: Partial<Logger>): Promise<RunningServer> {
  return startServer(log ? await createContext(env.config, { ...silent, ...log }) : await createTestContext(env));
}
