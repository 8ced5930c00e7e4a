import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server as SocketServer } from 'socket.io';
import { assertTransportIsSafe, type ServerConfig } from './config';
import { createLogger, type Logger, type ServerContext, silentLiveFeed } from './context';
import { FieldCipher } from './crypto/field-cipher';
import { loadKey } from './crypto/key-material';
import { openDatabase } from './db/database';
import { migrateToLatest } from './db/migrate';
import { createHttpApp } from './http/app';
import { routeModules } from './routes';
import { attachSocketServer } from './sync/socket-server';
import { startSecurityWatcher } from './access/security-watcher';

export interface RunningServer {
  ctx: ServerContext;
  io: SocketServer;
  /** `http://127.0.0.1:PORT` or `https://...`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Builds the context: opens the database, runs migrations, loads keys. */
export async function createContext(config: ServerConfig, log: Logger = createLogger(config.logLevel)): Promise<ServerContext> {
  const { db, kind } = openDatabase(config.database, (err) => log.error('database connection lost while idle', { err: err.message }));
  await migrateToLatest(db);
  const keysDir = path.join(config.dataDir, 'keys');
  const cipher = new FieldCipher([loadKey(config.fieldKey, path.join(keysDir, 'field.key'))]);
  const tokenKey = loadKey(config.tokenKey, path.join(keysDir, 'token.key'));
  return { config, db, dbKind: kind, cipher, tokenKey, now: () => Date.now(), log, live: silentLiveFeed };
}

export async function startServer(ctx: ServerContext): Promise<RunningServer> {
  const { config } = ctx;
  assertTransportIsSafe(config);
  let ready = false;
  const app = createHttpApp(ctx, routeModules, () => ready);
  const server = config.tls
    ? https.createServer(
        { cert: fs.readFileSync(config.tls.certFile), key: fs.readFileSync(config.tls.keyFile), minVersion: 'TLSv1.2' },
        app,
      )
    : http.createServer(app);
  // Slow-loris bounds: a client must send its headers and body promptly.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;

  const io = attachSocketServer(server, ctx);
  const watcher = startSecurityWatcher(ctx, io);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
  ready = true;
  ctx.log.info('sync-server listening', { url, database: ctx.dbKind });

  return {
    ctx,
    io,
    url,
    port,
    async close() {
      ready = false;
      watcher.stop();
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      server.closeAllConnections();
      await ctx.db.destroy();
    },
  };
}
