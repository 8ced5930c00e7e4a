import type { ServerContext } from '../context';
import { ipRateKey } from '../ratelimit/keys';
import { appendAudit, type AuditActor, type AuditEvent } from './audit-log';

/**
 * Audit entries of refused unauthenticated requests (a refused integration credential, a refused
 * OAuth token request), digested so that a flood does not write one row per request: per
 * (action, network, reason, target) and minute, the first refusal is written at once, exactly as
 * it was refused (a single attempt is always visible), and the ones after it within the minute are
 * counted and written as one more entry when the minute ends: the first one's actor, target and
 * details plus `repeated` (how many more), `firstAt` and `lastAt`. The network is the client
 * address as the rate limits key it (IPv4 as is, IPv6 by /64).
 *
 * Counted in this process's memory: with several server processes, each writes its own digest.
 * A digest still open when the server stops is written on shutdown (`flushRefusalDigests`).
 */

export const refusalDigestWindowMs = 60_000;
const maxOpen = 10_000;

interface Open {
  actor: AuditActor;
  event: AuditEvent;
  windowStart: number;
  repeated: number;
  lastAt: number;
  timer: NodeJS.Timeout;
}

interface Digests {
  open: Map<string, Open>;
  writes: Set<Promise<void>>;
}

const digestsByCtx = new WeakMap<ServerContext, Digests>();

function digestsOf(ctx: ServerContext): Digests {
  let d = digestsByCtx.get(ctx);
  if (!d) {
    d = { open: new Map(), writes: new Set() };
    digestsByCtx.set(ctx, d);
  }
  return d;
}

async function write(ctx: ServerContext, actor: AuditActor, event: AuditEvent, at: number): Promise<void> {
  await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, event, at));
}

/** Closes the digest under `key`: its repeats, if any, become one entry. */
function close(ctx: ServerContext, d: Digests, key: string): void {
  const o = d.open.get(key);
  if (!o) return;
  d.open.delete(key);
  clearTimeout(o.timer);
  if (o.repeated === 0) return;
  const event: AuditEvent = { ...o.event, details: { ...o.event.details, repeated: o.repeated, firstAt: o.windowStart, lastAt: o.lastAt } };
  const done = write(ctx, o.actor, event, o.lastAt)
    .catch((err: unknown) => ctx.log.error('could not write a digest of refused requests', { action: o.event.action, err: err instanceof Error ? err.message : String(err) }))
    .finally(() => d.writes.delete(done));
  d.writes.add(done);
}

/**
 * Audits a refused request (`reason` is what was wrong; `event.targetId` what it named, if
 * anything the server knows): written now when it is the first of its kind from this network this
 * minute, otherwise counted into the minute's digest.
 */
export async function auditRefusal(ctx: ServerContext, actor: AuditActor, event: AuditEvent, reason: string, now: number): Promise<void> {
  const d = digestsOf(ctx);
  const key = [event.action, ipRateKey(actor.ip), reason, event.targetId ?? ''].join('|');
  const o = d.open.get(key);
  if (o && now - o.windowStart < refusalDigestWindowMs) {
    o.repeated += 1;
    o.lastAt = now;
    return;
  }
  if (o) close(ctx, d, key);
  if (d.open.size >= maxOpen) for (const k of [...d.open.keys()]) close(ctx, d, k);
  // The minute is measured on the server clock (`now`); the timer only makes sure a digest is written without a next request.
  const timer = setTimeout(() => close(ctx, d, key), refusalDigestWindowMs);
  timer.unref();
  d.open.set(key, { actor, event, windowStart: now, repeated: 0, lastAt: now, timer });
  await write(ctx, actor, event, now);
}

/** Writes every open digest now and waits for the writes (shutdown, tests). */
export async function flushRefusalDigests(ctx: ServerContext): Promise<void> {
  const d = digestsByCtx.get(ctx);
  if (!d) return;
  for (const key of [...d.open.keys()]) close(ctx, d, key);
  while (d.writes.size > 0) await Promise.all([...d.writes]);
}
