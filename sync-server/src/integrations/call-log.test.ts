import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerContext } from '../context';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import { buildLocation } from '../../test/factories';
import { callEntry, insertApiKey, insertIntegration, insertWebhookAttempts } from '../../test/integration-log-fixtures';
import { callLogPolicy, closeIntegrationCallLog, flushIntegrationCalls, integrationCallLogStats, recordIntegrationCall } from './call-log';
import { ConfigError, loadConfig } from '../config';
import { pruneIntegrationLogs } from './log-retention';

const day = 24 * 3_600_000;

describe.each(backends)('integration call log (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  let integrationId: string;
  let keyId: string;
  let location: string;

  beforeEach(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    location = (await buildLocation(ctx)).id;
    integrationId = (await insertIntegration(ctx, { locationIds: [location] })).id;
    keyId = await insertApiKey(ctx, integrationId, ctx.now() + 300 * day);
  });

  afterEach(async () => {
    await closeIntegrationCallLog(ctx);
    await ctx.db.destroy().catch(() => undefined);
    await env.dispose();
  });

  it('writes calls in batches with the route template only: a query string or fragment passed by mistake is cut off', async () => {
    recordIntegrationCall(ctx, callEntry(integrationId, keyId, { route: '/api/v1/orders/:orderRef?email=leak-7f3a@example.test#frag', method: 'get', status: 200 }));
    for (let i = 0; i < callLogPolicy.flushAtEntries + 10; i++) recordIntegrationCall(ctx, callEntry(integrationId, keyId, { at: ctx.now() - i }));
    await flushIntegrationCalls(ctx);
    const rows = await ctx.db.selectFrom('integration_calls').selectAll().where('integration_id', '=', integrationId).execute();
    expect(rows).toHaveLength(callLogPolicy.flushAtEntries + 11);
    const first = rows.find((r) => r.method === 'GET');
    expect(first).toMatchObject({ route: '/api/v1/orders/:orderRef', status: 200, credential_id: keyId, ip: '203.0.113.7' });
    expect(JSON.stringify(rows)).not.toContain('leak-7f3a');
    expect(integrationCallLogStats(ctx)).toMatchObject({ pending: 0, dropped: 0 });
  });

  it('never throws into the caller when the database is gone, holds a bounded buffer and counts what it drops', async () => {
    await ctx.db.destroy();
    const extra = 25;
    expect(() => {
      for (let i = 0; i < callLogPolicy.maxPending + extra; i++) recordIntegrationCall(ctx, callEntry(integrationId, keyId));
    }).not.toThrow();
    await flushIntegrationCalls(ctx);
    expect(integrationCallLogStats(ctx)).toEqual({ pending: callLogPolicy.maxPending, dropped: extra, failing: true });
    // Nothing to write to: shutdown gives up on them without throwing.
    await expect(closeIntegrationCallLog(ctx)).resolves.toBeUndefined();
  });

  it('retention deletes calls older than the period and keeps the rest', async () => {
    const now = ctx.now();
    recordIntegrationCall(ctx, callEntry(integrationId, keyId, { at: now - 91 * day, route: '/api/v1/orders/old' }));
    recordIntegrationCall(ctx, callEntry(integrationId, keyId, { at: now - 89 * day, route: '/api/v1/orders/kept' }));
    recordIntegrationCall(ctx, callEntry(integrationId, keyId, { at: now - 1000, route: '/api/v1/orders/new' }));
    await flushIntegrationCalls(ctx);
    const result = await pruneIntegrationLogs(ctx.db, 90, now);
    expect(result.calls).toBe(1);
    const routes = (await ctx.db.selectFrom('integration_calls').select('route').execute()).map((r) => r.route).sort();
    expect(routes).toEqual(['/api/v1/orders/kept', '/api/v1/orders/new']);
    // The hourly counts behind the baseline keep 8 days: the 89- and 91-day-old hours go, today's stays.
    const hours = await ctx.db.selectFrom('integration_call_counts').select('hour').execute();
    expect(hours).toHaveLength(1);
    expect(await pruneIntegrationLogs(ctx.db, 90, now)).toMatchObject({ calls: 0, counts: 0 });
  });

  it('retention deletes webhook attempts older than the period and keeps the rest', async () => {
    const now = ctx.now();
    await insertWebhookAttempts(ctx, integrationId, location, [
      { at: now - 120 * day, statusCode: 500, error: 'http', nextRetryAt: null },
      { at: now - 10 * day, statusCode: 200, error: null, nextRetryAt: null },
    ]);
    expect(await pruneIntegrationLogs(ctx.db, 90, now)).toMatchObject({ webhookAttempts: 1 });
    expect((await ctx.db.selectFrom('webhook_attempts').select('attempt').execute()).map((a) => a.attempt)).toEqual([2]);
  });
});

describe('DEPOTLINE_INTEGRATION_LOG_DAYS', () => {
  it('defaults to 90 days and refuses nonsense', () => {
    expect(loadConfig({}).integrationLogDays).toBe(90);
    expect(loadConfig({ DEPOTLINE_INTEGRATION_LOG_DAYS: '30' }).integrationLogDays).toBe(30);
    for (const bad of ['0', '-1', 'forever', '4000']) expect(() => loadConfig({ DEPOTLINE_INTEGRATION_LOG_DAYS: bad })).toThrow(ConfigError);
  });
});
