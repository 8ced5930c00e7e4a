import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server as SocketServer } from 'socket.io';
import { assertTransportIsSafe, derivedRelyingParty, type ServerConfig } from './config';
import { createLogger, type Logger, type ServerContext } from './context';
import { FieldCipher } from './crypto/field-cipher';
import { loadFieldKeys, loadKey } from './crypto/key-material';
import { startCheckpointSchedule } from './audit/checkpoints';
import { loadCheckpointSigner, parseTrustedVerifiers } from './crypto/checkpoint-key';
import { openDatabase, useNamedStatements } from './db/database';
import { auditAppendOnlyStatus, prepareSchema } from './db/roles';
import { createRateLimitStore } from './ratelimit/store';
import { apiEndpoints } from './http/api';
import { createHttpApp } from './http/app';
import { createSocketFanOut } from './socket/adapter';
import { createLiveFeed } from './socket/broadcast';
import { syncEvents } from './socket/events';
import { startSecurityWatcher } from './socket/security-watcher';
import { createSocketServer, serveSocketEvents } from './socket/socket-server';
import type { LiveFeed } from './sync/mutations/handler';
import { withheldReportsSettled } from './sync/withheld-stops';
import { startWebhookWorker } from './webhooks/worker';
import { integrationAlertsSettled } from './integrations/anomalies';
import { flushRefusalDigests } from './audit/refusal-digest';
import { closeIntegrationCallLog } from './integrations/call-log';
import { startRetentionPurge } from './retention/job';
import { startTrackingHitAudits } from './tracking/hits';
import { startDriverAccessSweep } from './sync/driver-access';
import { startBlindIndexBackfill } from './privacy/reindex';

export interface RunningServer {
  ctx: ServerContext;
  io: SocketServer;
  /** `http://127.0.0.1:PORT` or `https://...`. */
  url: string;
  port: number;
  /** The retention purge (retention/job.ts): `runOnce` purges now if this process holds its lease. */
  retentionPurge: ReturnType<typeof startRetentionPurge>;
  close(): Promise<void>;
}

/** Builds the context: opens the database, runs migrations, loads keys. */
export async function createContext(config: ServerConfig, log: Logger = createLogger(config.logLevel)): Promise<ServerContext> {
  if (config.adminWithoutMfa) {
    log.error('ADMINISTRATORS SIGN IN WITHOUT A SECOND FACTOR: MFA_REQUIRED_ROLES leaves out admin and DEPOTLINE_ALLOW_ADMIN_WITHOUT_MFA accepts it', {
      mfaRequiredRoles: [...config.mfaRequiredRoles].sort(),
    });
  }
  // Loaded before the database is opened: a bad key file stops the start with nothing to close.
  const checkpointKeys = {
    signer: loadCheckpointSigner(config.checkpoints.keyFile, path.join(config.dataDir, 'keys', 'checkpoint.key')),
    trusted: parseTrustedVerifiers(config.checkpoints.trustedKeys),
  };
  // Redis (when configured) connects on first use, so a CLI run opens no connection.
  const rateLimits = createRateLimitStore(config.rateLimits, log);
  const { db, kind } = openDatabase(config.database, (err) => log.error('database connection lost while idle', { err: err.message }));
  try {
    await prepareSchema(db, config.database);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  useNamedStatements(db);
  const appendOnly = await auditAppendOnlyStatus(db, kind);
  log.info(appendOnly.byRole ? 'audit log append-only by database role' : 'audit log append-only by role separation NOT in force', {
    role: appendOnly.role, detail: appendOnly.summary,
  });
  const keysDir = path.join(config.dataDir, 'keys');
  const cipher = new FieldCipher(loadFieldKeys(config.fieldKey, path.join(keysDir, 'field.key')));
  const tokenKey = loadKey(config.tokenKey, path.join(keysDir, 'token.key'));
  const proofKey = loadKey({ file: config.proofs.keyFile }, path.join(keysDir, 'proof.key'));
  const blindIndexKey = loadKey({ file: config.privacy.blindIndexKeyFile }, path.join(keysDir, 'blind-index.key'));
  return { config, db, dbKind: kind, cipher, tokenKey, proofKey, blindIndexKey, checkpointKeys, rateLimits, now: () => Date.now(), log };
}

/** How long a starting process waits for Redis before it serves with fan-out within itself. */
const fanOutStartWaitMs = 3000;

export interface StartOptions {
  /**
   * Wraps the live feed that every committed push goes through. Crash-safety tests use it to
   * stop the process between COMMIT and the answer; nothing else needs it.
   */
  wrapLiveFeed?: (feed: LiveFeed) => LiveFeed;
}

/**
 * Wires the server together, lowest layer first: the socket server, the live feed built on
 * it, then the socket events and the REST API, both handed that feed explicitly.
 */
export async function startServer(ctx: ServerContext, options: StartOptions = {}): Promise<RunningServer> {
  const { config } = ctx;
  assertTransportIsSafe(config);
  let ready = false;
  const server = config.tls
    ? https.createServer({ cert: fs.readFileSync(config.tls.certFile), key: fs.readFileSync(config.tls.keyFile), minVersion: 'TLSv1.2' })
    : http.createServer();
  // Slow-loris bounds: a client must send its headers and body promptly.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;

  // With REDIS_URL, broadcasts reach the sockets of every process through a Redis stream (socket/adapter.ts).
  const fanOut = createSocketFanOut(config.rateLimits, ctx.log);
  const io = createSocketServer(server, ctx, fanOut);
  const realFeed = createLiveFeed(ctx, io);
  const live = options.wrapLiveFeed ? options.wrapLiveFeed(realFeed) : realFeed;
  serveSocketEvents(io, ctx, syncEvents(live));
  server.on('request', createHttpApp(ctx, apiEndpoints({ live }), () => ready));
  ctx.rateLimits.open();
  const watcher = startSecurityWatcher(ctx, io);
  const checkpoints = startCheckpointSchedule(ctx);
  // Sends queued webhooks while this process holds the webhook lease (webhooks/worker.ts).
  const webhooks = startWebhookWorker(ctx);
  // Retention: what is past its period is purged with evidence, integration logs included (retention/job.ts).
  const retentionPurge = startRetentionPurge(ctx, live);
  // Hourly tracking-link view counts are audited every minute, not only after a later view (tracking/hits.ts).
  const trackingHitAudits = startTrackingHitAudits(ctx);
  // Completed routes past their grace period are removed from their drivers' devices (sync/driver-access.ts).
  const driverAccess = startDriverAccessSweep(ctx, live);
  // Stops written before the blind index existed get theirs, in one process (privacy/reindex.ts).
  const blindIndexBackfill = startBlindIndexBackfill(ctx);

  // Listening only once the stream reader is reading (or Redis has had its chance): a console
  // that connects and pulls must not miss a change another process publishes right after.
  await fanOut.ready(fanOutStartWaitMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
  // A relying party derived from PORT=0 learns its port only now; an explicit WEBAUTHN_ORIGIN is left alone.
  if (config.webauthn?.derivedFromPort && config.port !== port) {
    ctx.config = { ...config, webauthn: derivedRelyingParty(config.host, port, config.tls !== null) };
  }
  // Without DEPOTLINE_TRACKING_BASE_URL, tracking links point at the address the server listens on (known only now for PORT=0).
  if (ctx.config.tracking.baseUrl === null) ctx.config = { ...ctx.config, tracking: { ...ctx.config.tracking, baseUrl: url } };
  ready = true;
  ctx.log.info('sync-server listening', { url, database: ctx.dbKind });

  return {
    ctx,
    io,
    url,
    port,
    retentionPurge,
    async close() {
      ready = false;
      watcher.stop();
      await checkpoints.stop();
      // In-flight webhook attempts are aborted and due again at once; the lease is handed back.
      await webhooks.stop();
      // The jobs that broadcast live changes (purge removals, revoked routes) stop while the
      // fan-out still publishes: a batch committed now still reaches other processes' consoles.
      await retentionPurge.stop();
      await driverAccess.stop();
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      await fanOut.close();
      server.closeAllConnections();
      // Reports of values that did not decrypt, still being written, land before the database closes.
      await withheldReportsSettled(ctx);
      await trackingHitAudits.stop();
      await blindIndexBackfill.settled;
      // Integration calls still buffered, and their alerts, are written before the database closes.
      await closeIntegrationCallLog(ctx);
      await integrationAlertsSettled(ctx);
      // Digests of refused requests still counting their minute are written now.
      await flushRefusalDigests(ctx);
      await ctx.rateLimits.close();
      await ctx.db.destroy();
    },
  };
}
