import crypto from 'node:crypto';
import type { ServerContext } from '../context';
import type { AttemptOutcome } from './delivery';
import { pauseFailingSubscriptions, pauseGoneSubscriptions } from './failing';
import { holdDeliveriesOf } from './holds';

/**
 * Recording what attempts came to (docs/api.md "Retries"): an attempt row each (status code or
 * error class, latency, next retry; never a body), the delivery delivered, retried later or given
 * up, and the subscription's health (last success, failing since; paused after a day of failing).
 * Outcomes are written in batches, one transaction each, so a busy worker costs a few writes per
 * batch rather than per delivery.
 */

/** Exponential backoff with full jitter: a random wait up to 5 s doubled per failure, capped at 1 h (never under 1 s). */
export const retryBaseMs = 5_000;
export const retryCapMs = 60 * 60 * 1000;

export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(retryCapMs, retryBaseMs * 2 ** Math.min(Math.max(failures, 1) - 1, 20));
  return Math.max(1000, Math.floor(random() * ceiling));
}

export interface Finished {
  delivery: { id: string; subscription_id: string; integration_id: string; event_type: string; attempts: number; retry_until: number };
  outcome: AttemptOutcome;
  /** When the attempt ended (the server's clock). */
  at: number;
}

/** Status values the delivery row keeps: the HTTP status, or the error class when there was none. */
const lastStatusOf = (o: AttemptOutcome) => (o.ok ? String(o.statusCode) : o.statusCode !== null && o.error === 'http' ? String(o.statusCode) : o.error);

/** Rows per INSERT: 11 columns each stays under SQLite's 999 bound parameters. */
const insertChunk = 80;

export async function recordOutcomes(ctx: ServerContext, finished: readonly Finished[]): Promise<void> {
  if (finished.length === 0) return;
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const attempts = [];
    const delivered = new Map<string, string[]>();
    const succeeded = new Set<string>();
    const failed = new Map<string, number>();
    // 410 Gone: the receiver says it is gone for good (Standard Webhooks); its subscription is paused at once.
    const gone = new Set<string>();
    for (const f of finished) {
      const d = f.delivery;
      const attempt = Number(d.attempts) + 1;
      let nextRetryAt: number | null = null;
      if (f.outcome.ok) {
        const key = lastStatusOf(f.outcome);
        delivered.set(key, [...(delivered.get(key) ?? []), d.id]);
        succeeded.add(d.subscription_id);
      } else {
        const dead = f.at >= Number(d.retry_until);
        nextRetryAt = dead ? null : f.at + retryDelayMs(attempt);
        await trx.updateTable('webhook_deliveries').set({
          attempts: attempt, last_attempt_at: f.at, last_status: lastStatusOf(f.outcome), status: dead ? 'dead' : 'pending',
          ...(nextRetryAt !== null ? { next_attempt_at: nextRetryAt } : {}),
        }).where('id', '=', d.id).where('status', '=', 'pending').execute();
        failed.set(d.subscription_id, Math.min(failed.get(d.subscription_id) ?? f.at, f.at));
        if (f.outcome.statusCode === 410) gone.add(d.subscription_id);
      }
      attempts.push({
        id: crypto.randomUUID(), delivery_id: d.id, subscription_id: d.subscription_id, integration_id: d.integration_id, event_type: d.event_type,
        attempt, at: f.at, status_code: f.outcome.statusCode, error: f.outcome.ok ? null : f.outcome.error, latency_ms: f.outcome.latencyMs,
        next_retry_at: nextRetryAt,
      });
    }
    for (const [lastStatus, ids] of delivered) {
      await trx.updateTable('webhook_deliveries')
        .set((eb) => ({ status: 'delivered', delivered_at: now, last_attempt_at: now, last_status: lastStatus, attempts: eb('attempts', '+', 1) }))
        .where('id', 'in', ids).where('status', '=', 'pending').execute();
    }
    for (let i = 0; i < attempts.length; i += insertChunk) await trx.insertInto('webhook_attempts').values(attempts.slice(i, i + insertChunk)).execute();
    if (succeeded.size > 0) {
      await trx.updateTable('webhook_subscriptions').set({ failing_since: null, last_success_at: now }).where('id', 'in', [...succeeded]).execute();
    }
    for (const [id, since] of failed) {
      if (succeeded.has(id)) continue;
      await trx.updateTable('webhook_subscriptions').set({ failing_since: since }).where('id', '=', id).where('failing_since', 'is', null).execute();
    }
    const paused = [
      ...await pauseGoneSubscriptions(ctx, trx, [...gone], now),
      ...await pauseFailingSubscriptions(ctx, trx, [...failed.keys()].filter((id) => !succeeded.has(id) && !gone.has(id)), now),
    ];
    if (paused.length > 0) await holdDeliveriesOf(trx, paused);
  });
}
