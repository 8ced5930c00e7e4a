import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type ServerConfig } from '../../sync-server/src/config';
import type { Logger, ServerContext } from '../../sync-server/src/context';
import { createContext, startServer, type RunningServer } from '../../sync-server/src/server';

export type BenchDatabase = { kind: 'sqlite' } | { kind: 'postgres'; clusterUrl: string };

const silent: Logger = { error: (msg, fields) => process.stderr.write(`[server error] ${msg} ${JSON.stringify(fields ?? {})}\n`), info: () => {}, debug: () => {} };

export interface BenchServerEnv {
  dir: string;
  config: ServerConfig;
  ctx: ServerContext;
  /** Starts listening on 127.0.0.1, port 0. Seed through `ctx` before or after. */
  start(): Promise<RunningServer>;
  dispose(): Promise<void>;
}

/**
 * The real sync-server, built the way `npm run server` builds it (createContext, then
 * startServer), on a fresh database: a SQLite file in a temp dir, or a new database in the
 * PostgreSQL cluster. Loopback only; logging off except errors.
 */
export async function createBenchServer(database: BenchDatabase, overrides: Partial<ServerConfig> = {}): Promise<BenchServerEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-bench-'));
  let target: ServerConfig['database'];
  let dropDb: (() => Promise<void>) | null = null;
  if (database.kind === 'postgres') {
    const name = `depotline_bench_${crypto.randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: database.clusterUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(database.clusterUrl);
    url.pathname = `/${name}`;
    target = { kind: 'postgres', url: url.toString() };
    // Not `with (force)`: terminating a connection the server's pool still holds would surface
    // as an unhandled pool error. The server is closed (pool ended) before this runs.
    dropDb = async () => {
      const c = new pg.Client({ connectionString: database.clusterUrl });
      await c.connect();
      await c.query(`drop database if exists ${name}`).catch(() => {});
      await c.end();
    };
  } else {
    target = { kind: 'sqlite', file: path.join(dir, 'server.sqlite') };
  }
  // The production defaults (an empty environment); tokens last the full 15 minutes so a long
  // section never measures a renewal.
  const config: ServerConfig = {
    ...loadConfig({}),
    port: 0,
    database: target,
    dataDir: dir,
    allowedOrigins: new Set(['app://depotline']),
    accessTokenTtlS: 900,
    logLevel: 'error',
    ...overrides,
  };
  const ctx = await createContext(config, silent);
  let running: RunningServer | null = null;
  return {
    dir,
    config,
    ctx,
    async start() {
      running = await startServer(ctx);
      return running;
    },
    async dispose() {
      if (running) await running.close();
      else await ctx.db.destroy();
      if (dropDb) await dropDb();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
