import crypto from 'node:crypto';
import type { ServerContext } from '../context';
import { observeCallBatch } from './anomalies';
import type { IntegrationCallEntry } from './call-entry';
import { oauthClientsOfTokens } from './credential-lookup';

/**
 * The integration call log (docs/security-model.md, "Integration logs and unusual activity").
 * Every call of the integration API by a known integration is recorded here, refused ones too
 * (403 for a suspended integration, an address outside the allowlist or a missing scope; 400;
 * 404): who (integration, credential), what (method and route template), how it ended (status,
 * latency) and from where (address). A credential the server does not accept names no
 * integration: it is counted per address instead (anomalies.ts, `recordUnknownCredentialRefusal`).
 * Never a body, a query string or a header: what a partner sent or received stays out of it.
 *
 * Recording is fire-and-forget: entries are buffered per server and written in batches (every
 * second, or at once when enough are waiting), so a call costs no write of its own, and a failing
 * database never fails a call. The buffer is bounded: while the database cannot be written,
 * entries beyond the bound are dropped, counted and reported in the server log.
 */

export type { IntegrationCallEntry };

export const callLogPolicy = {
  /** How long an entry waits before its batch is written. */
  flushEveryMs: 1000,
  /** A batch is written at once when this many entries are waiting. */
  flushAtEntries: 250,
  /** At most this many entries per insert. */
  batchSize: 500,
  /** Entries held while the database cannot be written; more are dropped and counted. */
  maxPending: 20_000,
} as const;

interface CallLog {
  pending: IntegrationCallEntry[];
  timer: NodeJS.Timeout | null;
  /** The flush under way, so two never run at once and shutdown can wait for it. */
  flushing: Promise<void> | null;
  dropped: number;
  failing: boolean;
}

const logs = new WeakMap<ServerContext, CallLog>();

function callLogOf(ctx: ServerContext): CallLog {
  let log = logs.get(ctx);
  if (!log) {
    log = { pending: [], timer: null, flushing: null, dropped: 0, failing: false };
    logs.set(ctx, log);
  }
  return log;
}

const maxRouteLength = 200;

/**
 * The route as stored: a template has no query string; anything after `?` or `#` is cut in case
 * a caller passed a path, and the length is bounded.
 */
export function routeTemplateOf(route: string): string {
  const cut = route.split(/[?#]/, 1)[0] ?? '';
  return cut.slice(0, maxRouteLength);
}

function normalized(entry: IntegrationCallEntry): IntegrationCallEntry {
  return {
    integrationId: entry.integrationId,
    credentialId: entry.credentialId,
    method: entry.method.toUpperCase().slice(0, 10),
    route: routeTemplateOf(entry.route),
    status: Math.trunc(entry.status),
    latencyMs: Math.max(0, Math.round(entry.latencyMs)),
    ip: entry.ip === null ? null : entry.ip.slice(0, 64),
    at: Math.trunc(entry.at),
  };
}

/** Entries waiting to be written, and those dropped since the log was last written (health checks, tests). */
export function integrationCallLogStats(ctx: ServerContext): { pending: number; dropped: number; failing: boolean } {
  const log = logs.get(ctx);
  return { pending: log?.pending.length ?? 0, dropped: log?.dropped ?? 0, failing: log?.failing ?? false };
}

/** Records one call of the integration API. Never throws and never waits. */
export function recordIntegrationCall(ctx: ServerContext, entry: IntegrationCallEntry): void {
  try {
    const log = callLogOf(ctx);
    if (log.pending.length >= callLogPolicy.maxPending) {
      log.dropped += 1;
      if (log.dropped === 1) ctx.log.error('integration call log full: calls are not being logged until the database can be written again');
      return;
    }
    log.pending.push(normalized(entry));
    if (log.pending.length >= callLogPolicy.flushAtEntries) scheduleFlush(ctx, log, 0);
    else scheduleFlush(ctx, log, callLogPolicy.flushEveryMs);
  } catch (err) {
    ctx.log.error('could not record an integration call', { err: err instanceof Error ? err.message : String(err) });
  }
}

function scheduleFlush(ctx: ServerContext, log: CallLog, delayMs: number): void {
  if (log.flushing) return; // the running flush reschedules when it ends
  if (log.timer && delayMs > 0) return;
  if (log.timer) clearTimeout(log.timer);
  log.timer = setTimeout(() => {
    log.timer = null;
    void flushIntegrationCalls(ctx);
  }, delayMs);
  log.timer.unref();
}

/**
 * Writes everything buffered so far (tests, shutdown). Resolves when the buffer is empty or the
 * database refused a batch (the entries stay buffered and are tried again later).
 */
export async function flushIntegrationCalls(ctx: ServerContext): Promise<void> {
  const log = logs.get(ctx);
  if (!log) return;
  while (log.flushing) await log.flushing;
  if (log.timer) {
    clearTimeout(log.timer);
    log.timer = null;
  }
  const run = writeAll(ctx, log);
  log.flushing = run;
  try {
    await run;
  } finally {
    log.flushing = null;
    if (log.pending.length > 0) scheduleFlush(ctx, log, log.failing ? callLogPolicy.flushEveryMs * 5 : callLogPolicy.flushEveryMs);
  }
}

async function writeAll(ctx: ServerContext, log: CallLog): Promise<void> {
  while (log.pending.length > 0) {
    const batch = log.pending.slice(0, callLogPolicy.batchSize);
    try {
      await writeBatch(ctx, batch);
    } catch (err) {
      if (!log.failing) ctx.log.error('could not write integration calls; kept to try again', { err: err instanceof Error ? err.message : String(err), waiting: log.pending.length });
      log.failing = true;
      return;
    }
    log.pending.splice(0, batch.length);
    if (log.failing || log.dropped > 0) {
      ctx.log.error('integration call log written again', { dropped: log.dropped });
      log.failing = false;
      log.dropped = 0;
    }
  }
}

async function writeBatch(ctx: ServerContext, batch: IntegrationCallEntry[]): Promise<void> {
  const clients = await oauthClientsOfTokens(ctx.db, batch.flatMap((e) => (e.credentialId === null ? [] : [e.credentialId])));
  if (clients.size > 0) {
    for (const [i, e] of batch.entries()) {
      const client = e.credentialId === null ? undefined : clients.get(e.credentialId);
      if (client !== undefined) batch[i] = { ...e, credentialId: client };
    }
  }
  // One multi-row insert: the batch is written whole or not at all.
  await ctx.db.insertInto('integration_calls').values(batch.map((e) => ({
    id: crypto.randomUUID(), integration_id: e.integrationId, credential_id: e.credentialId, method: e.method, route: e.route,
    status: e.status, latency_ms: e.latencyMs, ip: e.ip, at: e.at,
  }))).execute();
  // The checks run once the calls are safe; one that fails is reported, never retried with the batch.
  await observeCallBatch(ctx, batch);
}

/** Stops the timer and writes what is left (server shutdown, before the database closes). */
export async function closeIntegrationCallLog(ctx: ServerContext): Promise<void> {
  const log = logs.get(ctx);
  if (!log) return;
  await flushIntegrationCalls(ctx);
  if (log.timer) clearTimeout(log.timer);
  log.timer = null;
  if (log.pending.length > 0) ctx.log.error('integration calls not written at shutdown', { lost: log.pending.length });
  logs.delete(ctx);
}
