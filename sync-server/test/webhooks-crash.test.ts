/**
 * Nothing lost (docs/api.md "Webhooks"): the server runs as a real process (src/main.ts), is
 * killed with SIGKILL while deliveries are in flight, and is started again on the same database.
 * Every event a push committed reaches the receiver at least once, under the id it was queued
 * with: the set of ids the receiver saw equals the set in the outbox, and each verifies with
 * the standardwebhooks package.
 */
import { IntegrationCreate } from '@depotline/shared';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrant } from '../src/access/grants';
import type { ServerContext } from '../src/context';
import { applyIntegrationCreate } from '../src/integrations/registry';
import { createSubscription } from '../src/webhooks/subscriptions';
import { type ServerProcess, startServerProcess, stopServerProcess, waitForServer } from './cluster';
import { testOperator } from './factories';
import { backends, createTestContext, createTestEnv, type TestEnv } from './harness';
import { startReceiver, type Receiver } from './webhook-receiver';
import { eventually, insertLocation, insertRoute, insertStops, insertUser, mutationId, openSession, type SeededStop } from './world';

/** The server as a real process, with fast webhook polling and a short job lease. */
function startMain(env: TestEnv): ServerProcess {
  return startServerProcess(env, {
    LOG_LEVEL: 'error', DEPOTLINE_WEBHOOK_ALLOW_LOOPBACK: '1', DEPOTLINE_WEBHOOK_POLL_MS: '50', DEPOTLINE_JOB_LEASE_S: '2',
    DEPOTLINE_WEBHOOK_TIMEOUT_S: '3', DEPOTLINE_CHECKPOINT_INTERVAL_S: '0',
  });
}

async function pushStatus(url: string, token: string, locationId: string, stops: readonly SeededStop[], to: string): Promise<void> {
  const res = await fetch(`${url}/api/v1/sync/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ mutations: stops.map((s) => ({ id: mutationId(), type: 'stop.setStatus', locationId, stopId: s.id, to, createdAt: Date.now() })) }),
  });
  const body = (await res.json()) as { results: { status: string }[] };
  expect(res.status).toBe(200);
  expect(body.results.every((r) => r.status === 'applied')).toBe(true);
}

describe.each(backends)('webhook delivery across a crash (%s)', (backend) => {
  let env: TestEnv | null = null;
  let ctx: ServerContext | null = null;
  let receiver: Receiver | null = null;
  const running: ServerProcess[] = [];
  afterEach(async () => {
    for (const s of running.splice(0)) await stopServerProcess(s, 'SIGKILL');
    await receiver?.close();
    await ctx?.db.destroy();
    await env?.dispose();
    env = null;
    ctx = null;
  });

  it('a server killed mid-delivery and started again delivers every event at least once, each under its one id', async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    const A = 'depot-crash';
    await insertLocation(ctx, A);
    await insertRoute(ctx, A, 'route-c1', null);
    const stops = await insertStops(ctx, A, 'route-c1', 12);
    const userId = await insertUser(ctx, 'dispatcher-crash');
    await createGrant(ctx, { kind: 'operator', actor: testOperator }, { userId, role: 'dispatcher', locationIds: [A] });
    const { token } = await openSession(ctx, userId);
    const integration = await ctx.db.transaction().execute((trx) => applyIntegrationCreate(trx, { kind: 'operator', actor: testOperator },
      IntegrationCreate.parse({ name: 'courier-crash', kind: 'courier', contact: 'ops@partner.example', orderVisibility: 'location', scopes: [{ locationId: A, permissions: ['status.read'] }] }), Date.now()));
    // A courier hears of every order at its depot (these stops are not its own orders).
    // The receiver is slow at first: answers take 1.5 s, so deliveries are in flight when the server dies.
    receiver = await startReceiver({ status: 204, delayMs: 1500 });
    const { subscription, secret } = await ctx.db.transaction().execute((trx) =>
      createSubscription(ctx!, trx, testOperator, integration, { url: `${receiver!.origin}/hooks`, events: ['stop.status_changed', 'stop.delivered'] }, Date.now()));

    const first = startMain(env);
    running.push(first);
    const firstUrl = await waitForServer(first);
    await pushStatus(firstUrl, token, A, stops, 'en_route');
    await pushStatus(firstUrl, token, A, stops.slice(0, 6), 'arrived');
    expect(await eventually(() => receiver!.received.length >= 3, 30_000)).toBe(true);
    first.child.kill('SIGKILL');
    await first.exited;
    const seenBeforeCrash = receiver.received.length;

    receiver.answer({ status: 204 });
    const second = startMain(env);
    running.push(second);
    const secondUrl = await waitForServer(second);
    await pushStatus(secondUrl, token, A, stops.slice(0, 6), 'delivered');

    const queued = await ctx.db.selectFrom('webhook_deliveries').select(['id', 'event_type']).where('subscription_id', '=', subscription.id).execute();
    // 12 + 6 + 6 status changes and 6 deliveries, each queued once with its change.
    expect(queued).toHaveLength(30);
    const queuedIds = new Set(queued.map((d) => d.id));
    const seen = () => new Set(receiver!.received.map((r) => r.id));
    expect(await eventually(() => [...queuedIds].every((id) => seen().has(id)), 60_000, 100)).toBe(true);
    expect(seen()).toEqual(queuedIds);
    expect(await eventually(async () => (await ctx!.db.selectFrom('webhook_deliveries').select('status')
      .where('subscription_id', '=', subscription.id).execute()).every((d) => d.status === 'delivered'), 30_000, 100)).toBe(true);
    const hook = new Webhook(secret);
    for (const r of receiver.received) expect(() => hook.verify(r.body, r.headers)).not.toThrow();
    // The requests still unanswered when the server died were sent again, under the same ids.
    expect(seenBeforeCrash).toBeGreaterThanOrEqual(3);
    expect(receiver.received.length).toBeGreaterThan(queuedIds.size);
  }, 180_000);
});
