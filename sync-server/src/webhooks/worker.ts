import type { ServerContext } from '../context';
import { holdJobLease, jobLeaseHolderName, releaseJobLease } from '../db/job-leases';
import { parseDataProfile } from '../integrations/records';
import { createWebhookAgents, postWebhook, type WebhookAgents } from './delivery';
import { heldUntil, holdSuspendedDeliveries, releaseHeldDeliveries } from './holds';
import { alertReaches, orderOwners, scopesHear } from './outbox';
import { type Finished, recordOutcomes } from './outcomes';
import { stopsOf, webhookBody } from './payload';
import { consentAllows, customerChoicesOf } from './customer-choices';
import { pruneFinishedDeliveries } from './retention';
import { signWebhook } from './signing';
import { type TargetPolicy } from './ssrf';
import { signingSecrets } from './subscriptions';
import { onWebhookWake } from './wake';

/**
 * The webhook worker (docs/operations.md "Webhooks"). Of all server processes sharing a
 * database, the one holding the `webhooks` job lease sends; the others wait to take over when
 * the holder dies (its lease expires). State lives only in the database: a round claims due
 * deliveries by moving their `next_attempt_at` past the attempt's timeout (a conditional update,
 * so two processes never claim one delivery), sends them with bounded concurrency, and records
 * the outcomes. A delivery whose sender died is due again when its claim runs out: delivered at
 * least once, under the same `webhook-id`.
 */

export const webhookLease = 'webhooks';
/** How long a claim lasts: the attempt's timeout twice over (the attempt, then recording it), and a second. */
const claimMs = (timeoutMs: number) => 2 * timeoutMs + 1000;

export interface WebhookWorker {
  /** Stops sending: attempts in flight are aborted and due again at once; the lease is released. */
  stop(): Promise<void>;
}

type Claimed = {
  id: string; subscription_id: string; integration_id: string; event_type: string; location_id: string; stop_id: string | null;
  data: string; occurred_at: number; attempts: number; retry_until: number;
};

export function startWebhookWorker(ctx: ServerContext): WebhookWorker {
  const holder = jobLeaseHolderName(webhookLease);
  const inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const finished: Finished[] = [];
  let agents: { policy: string; agents: WebhookAgents } | null = null;
  let holding = false;
  let renewAt = 0;
  let pruneAt = 0;
  let holdsAt = 0;
  let backlog = false;
  let stopped = false;
  let round: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Infinity;
  let flushing: Promise<void> | null = null;

  const settings = () => ctx.config.webhooks;

  function schedule(delayMs: number): void {
    if (stopped) return;
    const at = Date.now() + delayMs;
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = null;
      timerAt = Infinity;
      runRound();
    }, delayMs);
  }

  function runRound(): void {
    if (stopped) return;
    if (round) {
      again = true;
      return;
    }
    round = oneRound()
      .catch((err: unknown) => ctx.log.error('webhook worker round failed', { err: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        round = null;
        // More is due (or asked for) and there is room for it: go on at once; else poll.
        if (again || (backlog && inFlight.size < settings().concurrency)) {
          again = false;
          schedule(0);
        } else schedule(settings().pollMs);
      });
  }

  function agentsFor(policy: TargetPolicy): WebhookAgents {
    // Pooled connections were checked under the policy they were made with: a changed policy starts afresh.
    const key = JSON.stringify(policy);
    if (!agents || agents.policy !== key) {
      agents?.agents.destroy();
      agents = { policy: key, agents: createWebhookAgents(settings().concurrency) };
    }
    return agents.agents;
  }

  async function oneRound(): Promise<void> {
    const now = ctx.now();
    if (!holding || now >= renewAt) {
      // Renewed every third of the lease; a process paused past that renews (or learns it lost) before it claims again.
      const held = await holdJobLease(ctx.db, webhookLease, holder, now, settings().leaseMs);
      if (held !== holding) ctx.log.info(held ? 'webhook worker holds the lease: this process sends' : 'webhook worker lost the lease: another process sends', { holder });
      holding = held;
      renewAt = now + settings().leaseMs / 3;
    }
    if (!holding) {
      // Another process sends; this one only waits to take over.
      backlog = false;
      return;
    }
    if (now >= pruneAt) {
      pruneAt = now + 60 * 60 * 1000;
      const pruned = await pruneFinishedDeliveries(ctx, now);
      if (pruned > 0) ctx.log.info('webhook deliveries past retention deleted', { deliveries: pruned });
    }
    if (now >= holdsAt) {
      // Follows integrations suspended and resumed since (holds.ts): at most once a second.
      holdsAt = now + 1000;
      await holdSuspendedDeliveries(ctx.db);
      if ((await releaseHeldDeliveries(ctx.db, now)) > 0) backlog = true;
    }
    // Full: a finishing attempt starts the next round (while `backlog` says more is due).
    const capacity = settings().concurrency - inFlight.size;
    if (capacity <= 0) return;
    const claimed = await claimDue(now, capacity);
    backlog = claimed.length === capacity;
    if (claimed.length > 0) await send(claimed, now);
  }

  /** Claims up to `limit` due deliveries in one statement: their `next_attempt_at` moves past the attempt's end. */
  function claimDue(now: number, limit: number): Promise<Claimed[]> {
    return ctx.db.updateTable('webhook_deliveries').set({ next_attempt_at: now + claimMs(settings().timeoutMs) })
      .where('id', 'in', (eb) => eb.selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
        .innerJoin('integrations as i', 'i.id', 'd.integration_id')
        .select('d.id')
        .where('d.status', '=', 'pending').where('d.next_attempt_at', '<=', now)
        .where('s.status', '=', 'active').where('i.suspended_at', 'is', null)
        .orderBy('d.next_attempt_at').limit(limit))
      // Checked again on the row itself: a delivery another process claimed meanwhile is left alone.
      .where('status', '=', 'pending').where('next_attempt_at', '<=', now)
      .returning(['id', 'subscription_id', 'integration_id', 'event_type', 'location_id', 'stop_id', 'data', 'occurred_at', 'attempts', 'retry_until'])
      .execute();
  }

  async function send(claimed: readonly Claimed[], now: number): Promise<void> {
    const subIds = [...new Set(claimed.map((d) => d.subscription_id))];
    const integrationIds = [...new Set(claimed.map((d) => d.integration_id))];
    const subRows = await ctx.db.selectFrom('webhook_subscriptions as s').innerJoin('integrations as i', 'i.id', 's.integration_id')
      .selectAll('s').select(['i.data_profile', 'i.kind', 'i.order_visibility', 'i.suspended_at']).where('s.id', 'in', subIds).execute();
    const subs = new Map(subRows.map((s) => [s.id, s]));
    // Order visibility (outbox.ts) checked again now: an `own` integration is sent only orders it created.
    const ownOnly = [...new Set(subRows.filter((s) => s.order_visibility !== 'location').map((s) => s.integration_id))];
    const owners = await orderOwners(ctx.db, claimed.flatMap((d) => (d.stop_id !== null && d.event_type !== 'security.alert' ? [d.stop_id] : [])), ownOnly);
    const profiles = new Map(subRows.map((s) => [s.integration_id, parseDataProfile(s.data_profile)]));
    const scopes = new Map<string, Set<string>>();
    for (const s of await ctx.db.selectFrom('integration_scopes').selectAll().where('integration_id', 'in', integrationIds).execute()) {
      const key = `${s.integration_id}|${s.location_id}`;
      scopes.set(key, (scopes.get(key) ?? new Set()).add(s.permission));
    }
    const stops = await stopsOf(ctx.db, claimed);
    const customers = await customerChoicesOf(ctx.db, stops, integrationIds);
    const withdrawn: string[] = [];
    const released: string[] = [];
    const held: string[] = [];
    const policy: TargetPolicy = { allowLoopback: settings().allowLoopback, allowCidrs: settings().allowCidrs };
    const secrets = new Map<string, string[]>();
    for (const d of claimed) {
      const sub = subs.get(d.subscription_id);
      const profile = profiles.get(d.integration_id);
      if (!sub || sub.status !== 'active' || !profile) {
        released.push(d.id);
        continue;
      }
      // Suspended since it was claimed: nothing goes out until an admin resumes the integration.
      if (sub.suspended_at !== null) {
        held.push(d.id);
        continue;
      }
      // The integration may have lost the scope, or the receiver the event type, since it was queued.
      const events = new Set(JSON.parse(sub.events) as string[]);
      const type = d.event_type as Parameters<typeof scopesHear>[0];
      // Or may no longer see the order, or the alert is not its own.
      const seesOrder = type === 'security.alert' || d.stop_id === null || sub.order_visibility === 'location' || owners.has(`${d.integration_id} ${d.stop_id}`);
      const alertOk = type !== 'security.alert' || alertReaches(JSON.parse(d.data) as Record<string, unknown>, { id: d.integration_id, kind: sub.kind });
      // Or the customer withdrew the consent this event would act on (customer-choices.ts).
      const withdrawnPurposes = customers.withdrawn(d.stop_id);
      if (!events.has(type) || !scopesHear(type, scopes.get(`${d.integration_id}|${d.location_id}`) ?? new Set()) || !seesOrder || !alertOk
        || !consentAllows(type, sub.kind, withdrawnPurposes)) {
        withdrawn.push(d.id);
        continue;
      }
      let request: { url: URL; body: string; headers: ReturnType<typeof signWebhook> };
      try {
        const body = webhookBody(ctx, d, profile, stops, { sharing: customers.sharing({ id: d.integration_id, kind: sub.kind }, d.stop_id), withdrawn: withdrawnPurposes });
        if (!secrets.has(sub.id)) secrets.set(sub.id, signingSecrets(ctx, sub, now));
        request = { url: new URL(sub.url), body, headers: signWebhook(d.id, Math.floor(ctx.now() / 1000), body, secrets.get(sub.id)!) };
      } catch (err) {
        // Recorded as a failed attempt, so it is retried on schedule and given up in time, not claimed forever.
        ctx.log.error('could not build a webhook delivery', { deliveryId: d.id, err: err instanceof Error ? err.message : String(err) });
        finished.push({ delivery: d, outcome: { ok: false, statusCode: null, error: 'internal', latencyMs: 0, detail: 'not built' }, at: ctx.now() });
        flushSoon();
        continue;
      }
      const abort = new AbortController();
      const options = { policy, timeoutMs: settings().timeoutMs, agents: agentsFor(policy), signal: abort.signal };
      const done = postWebhook(request.url, request.body, request.headers, options)
        .then((outcome) => {
          inFlight.delete(d.id);
          if (abort.signal.aborted) return;
          finished.push({ delivery: d, outcome, at: ctx.now() });
          flushSoon();
          // A few milliseconds' grace, so attempts finishing together refill in one round.
          if (backlog) schedule(2);
        });
      inFlight.set(d.id, { abort, done });
    }
    if (withdrawn.length > 0) {
      await ctx.db.updateTable('webhook_deliveries').set({ status: 'dead', last_status: 'withdrawn' }).where('id', 'in', withdrawn).where('status', '=', 'pending').execute();
    }
    if (released.length > 0) await ctx.db.updateTable('webhook_deliveries').set({ next_attempt_at: now }).where('id', 'in', released).execute();
    if (held.length > 0) await ctx.db.updateTable('webhook_deliveries').set({ next_attempt_at: heldUntil }).where('id', 'in', held).where('status', '=', 'pending').execute();
  }

  function flushSoon(): void {
    if (flushing) return;
    flushing = (async () => {
      await new Promise((r) => setImmediate(r));
      while (finished.length > 0) {
        const batch = finished.splice(0);
        try {
          await recordOutcomes(ctx, batch);
        } catch (err) {
          // The claims run out and the deliveries are sent again: at least once, never lost.
          ctx.log.error('could not record webhook attempts', { err: err instanceof Error ? err.message : String(err), deliveries: batch.length });
        }
      }
    })().finally(() => {
      flushing = null;
      if (finished.length > 0) flushSoon();
    });
  }

  onWebhookWake(ctx, () => schedule(10));
  schedule(0);

  return {
    async stop() {
      stopped = true;
      onWebhookWake(ctx, null);
      if (timer) clearTimeout(timer);
      await round;
      const aborted = [...inFlight.keys()];
      for (const f of inFlight.values()) f.abort.abort();
      await Promise.allSettled([...inFlight.values()].map((f) => f.done));
      while (flushing) await flushing;
      try {
        if (aborted.length > 0) {
          await ctx.db.updateTable('webhook_deliveries').set({ next_attempt_at: ctx.now() }).where('id', 'in', aborted).where('status', '=', 'pending').execute();
        }
        if (holding) await releaseJobLease(ctx.db, webhookLease, holder);
      } catch (err) {
        ctx.log.error('webhook worker could not hand over cleanly (claims and lease expire on their own)', { err: err instanceof Error ? err.message : String(err) });
      }
      (agents as { agents: WebhookAgents } | null)?.agents.destroy();
    },
  };
}
