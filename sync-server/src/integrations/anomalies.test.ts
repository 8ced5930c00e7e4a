import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerContext } from '../context';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import { buildLocation, buildUser, type BuiltUser, testClock, type TestClock } from '../../test/factories';
import { callEntry, insertApiKey, insertIntegration } from '../../test/integration-log-fixtures';
import { anomalyPolicy, integrationAlertsSettled, recordUnknownCredentialRefusal } from './anomalies';
import { hourMs, hourOf } from './call-baselines';
import { closeIntegrationCallLog, flushIntegrationCalls, recordIntegrationCall } from './call-log';
import type { IntegrationCallEntry } from './call-entry';

const day = 24 * hourMs;

describe.each(backends)('unusual integration activity (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  let clock: TestClock;
  let depot: string;
  let admin: BuiltUser;
  let dispatcher: BuiltUser;
  let otherAdmin: BuiltUser;

  beforeEach(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    // Mid-hour, so a test's calls stay within one hour of the clock.
    clock = testClock(hourOf(Date.now()) + 30 * 60_000);
    ctx.now = clock.now;
    depot = (await buildLocation(ctx)).id;
    admin = await buildUser(ctx, { role: 'admin', locationIds: [depot] });
    dispatcher = await buildUser(ctx, { role: 'dispatcher', locationIds: [depot] });
    otherAdmin = await buildUser(ctx, { role: 'admin' });
  });

  afterEach(async () => {
    await closeIntegrationCallLog(ctx);
    await integrationAlertsSettled(ctx);
    await ctx.db.destroy();
    await env.dispose();
  });

  async function record(entries: IntegrationCallEntry[]): Promise<void> {
    for (const e of entries) recordIntegrationCall(ctx, e);
    await flushIntegrationCalls(ctx);
    await integrationAlertsSettled(ctx);
  }

  async function alertsOf(user: BuiltUser) {
    const rows = await ctx.db.selectFrom('security_alerts').selectAll().where('user_id', '=', user.id).where('kind', '=', 'integration_activity').execute();
    return rows.map((r) => JSON.parse(r.details) as Record<string, unknown>);
  }

  async function auditedAlerts(integrationId: string) {
    const rows = await ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'security.alert').where('target_id', '=', integrationId).execute();
    return rows.map((r) => ({ locationId: r.location_id, ...(JSON.parse(r.details) as Record<string, unknown>) }));
  }

  const many = (n: number, make: (i: number) => IntegrationCallEntry) => Array.from({ length: n }, (_, i) => make(i));

  it('volume far above the credential\'s own baseline raises one alert per hour, to the integration\'s admins only', async () => {
    const shop = await insertIntegration(ctx, { locationIds: [depot] });
    const key = await insertApiKey(ctx, shop.id, clock.now() + 300 * day);
    // Eight days of a steady 20 calls an hour: the usual busiest hour is 20, the threshold max(300, 5 x 20) = 300.
    const hour = hourOf(clock.now());
    await ctx.db.insertInto('integration_call_counts').values(Array.from({ length: 8 * 24 }, (_, i) => ({
      credential_id: key, integration_id: shop.id, hour: hour - (i + 1) * hourMs, calls: 20, refused: 0,
    }))).execute();
    await record(many(anomalyPolicy.volumeFloorPerHour, () => callEntry(shop.id, key, { at: clock.now() })));
    expect(await alertsOf(admin)).toEqual([]);
    await record(many(5, () => callEntry(shop.id, key, { at: clock.now() })));
    const raised = await alertsOf(admin);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ rule: 'volume_spike', credentialId: key, integrationId: shop.id, usualBusiestHour: 20, suspendedIntegration: false });
    expect(await auditedAlerts(shop.id)).toEqual([expect.objectContaining({ locationId: depot, rule: 'volume_spike' })]);
    // More of the same within the hour: still one.
    await record(many(50, () => callEntry(shop.id, key, { at: clock.now() })));
    expect(await alertsOf(admin)).toHaveLength(1);
    expect(await alertsOf(dispatcher)).toEqual([]);
    expect(await alertsOf(otherAdmin)).toEqual([]);
  });

  it('a new credential has no baseline yet: a busy first hour raises nothing', async () => {
    const shop = await insertIntegration(ctx, { locationIds: [depot] });
    const key = await insertApiKey(ctx, shop.id, clock.now() + 300 * day);
    await record(many(anomalyPolicy.volumeFloorPerHour + 50, () => callEntry(shop.id, key, { at: clock.now() })));
    expect(await alertsOf(admin)).toEqual([]);
  });

  it('a call from a network the credential never used raises new_network once per hour; the first network does not', async () => {
    const shop = await insertIntegration(ctx, { locationIds: [depot] });
    const key = await insertApiKey(ctx, shop.id, clock.now() + 300 * day);
    await record([callEntry(shop.id, key, { ip: '198.51.100.10', at: clock.now() - 2 * hourMs })]);
    await record([callEntry(shop.id, key, { ip: '198.51.100.77', at: clock.now() })]); // same /24
    expect(await alertsOf(admin)).toEqual([]);
    await record([callEntry(shop.id, key, { ip: '203.0.113.9', at: clock.now() })]);
    expect(await alertsOf(admin)).toEqual([expect.objectContaining({ rule: 'new_network', network: '203.0.113.0/24', ip: '203.0.113.9' })]);
    await record([callEntry(shop.id, key, { ip: '192.0.2.5', at: clock.now() })]);
    expect(await alertsOf(admin)).toHaveLength(1);
    // An hour later a further new network is told again.
    clock.advance(hourMs);
    await record([callEntry(shop.id, key, { ip: '2001:db8:1234::5', at: clock.now() })]);
    expect((await alertsOf(admin)).map((a) => a.network)).toEqual(expect.arrayContaining(['2001:db8:1234::/48']));
  });

  it('a burst of 401/403 from one credential raises refused_burst once, and suspends an integration set to it (audited)', async () => {
    const shop = await insertIntegration(ctx, { locationIds: [depot], autoSuspend: true });
    const key = await insertApiKey(ctx, shop.id, clock.now() + 300 * day);
    await record(many(anomalyPolicy.refusedBurst - 1, (i) => callEntry(shop.id, key, { status: [401, 403][i % 2]!, route: '/api/v1/orders/:orderRef', at: clock.now() - i * 1000 })));
    expect(await alertsOf(admin)).toEqual([]);
    await record([callEntry(shop.id, key, { status: 403, at: clock.now() })]);
    expect(await alertsOf(admin)).toEqual([expect.objectContaining({
      rule: 'refused_burst', refusedWithinMinute: anomalyPolicy.refusedBurst, deniedWithinMinute: anomalyPolicy.refusedBurst, suspendedIntegration: true,
    })]);
    const row = await ctx.db.selectFrom('integrations').selectAll().where('id', '=', shop.id).executeTakeFirstOrThrow();
    expect(row.suspended_at).toBe(clock.now());
    expect(row.suspended_reason).toBe('unusual activity: refused_burst');
    const suspension = await ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'integration.suspend').where('target_id', '=', shop.id).execute();
    expect(suspension).toHaveLength(1);
    expect(JSON.parse(suspension[0]!.details)).toMatchObject({ reason: 'unusual_activity', rule: 'refused_burst', automatic: true });
    await record(many(anomalyPolicy.refusedBurst, () => callEntry(shop.id, key, { status: 403, at: clock.now() })));
    expect(await alertsOf(admin)).toHaveLength(1);
  });

  it('a burst of 404s (a partner polling refs not there yet) and a new network alert but never suspend', async () => {
    const shop = await insertIntegration(ctx, { locationIds: [depot], autoSuspend: true });
    const key = await insertApiKey(ctx, shop.id, clock.now() + 300 * day);
    await record(many(anomalyPolicy.refusedBurst * 2, (i) => callEntry(shop.id, key, { status: i % 4 === 0 ? 403 : 404, at: clock.now() - i * 100 })));
    expect(await alertsOf(admin)).toEqual([expect.objectContaining({ rule: 'refused_burst', suspendedIntegration: false })]);
    // A cloud egress change: an hour from one network, then calls from another.
    const other = await insertApiKey(ctx, shop.id, clock.now() + 300 * day);
    await record([callEntry(shop.id, other, { ip: '203.0.113.7', at: clock.now() - 2 * hourMs + 60_000 })]);
    await record([callEntry(shop.id, other, { ip: '198.51.100.9', at: clock.now() })]);
    expect((await alertsOf(admin)).map((a) => [a.rule, a.suspendedIntegration])).toEqual(expect.arrayContaining([['new_network', false]]));
    const row = await ctx.db.selectFrom('integrations').select('suspended_at').where('id', '=', shop.id).executeTakeFirstOrThrow();
    expect(row.suspended_at).toBeNull();
  });

  it('refusals spread over more than a minute are not a burst', async () => {
    const shop = await insertIntegration(ctx, { locationIds: [depot] });
    const key = await insertApiKey(ctx, shop.id, clock.now() + 300 * day);
    await record(many(anomalyPolicy.refusedBurst * 2, (i) => callEntry(shop.id, key, { status: 404, at: clock.now() - i * 5_000 })));
    expect(await alertsOf(admin)).toEqual([]);
  });

  it('a burst of refusals naming no known credential raises one alert for the address, to integration admins', async () => {
    for (let i = 0; i < anomalyPolicy.refusedBurst * 2; i++) recordUnknownCredentialRefusal(ctx, '192.0.2.66', clock.now());
    await integrationAlertsSettled(ctx);
    expect(await alertsOf(admin)).toEqual([expect.objectContaining({ rule: 'refused_burst', ip: '192.0.2.66', network: '192.0.2.66', integrationId: null })]);
    expect(await alertsOf(otherAdmin)).toHaveLength(1);
    expect(await alertsOf(dispatcher)).toEqual([]);
    const audited = await ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'security.alert').where('target_type', '=', 'address').execute();
    expect(audited).toHaveLength(1);
  });

  it('probes from many addresses of one /64, and from many networks, raise one alert an hour for the whole server', async () => {
    const burst = (ip: string) => {
      for (let i = 0; i < anomalyPolicy.refusedBurst; i++) recordUnknownCredentialRefusal(ctx, ip, clock.now());
    };
    // Rotating through one /64 is one network: its requests are counted together.
    for (let a = 1; a <= anomalyPolicy.refusedBurst; a++) recordUnknownCredentialRefusal(ctx, `2001:db8:1:2::${a.toString(16)}`, clock.now());
    await integrationAlertsSettled(ctx);
    expect(await alertsOf(admin)).toEqual([expect.objectContaining({ rule: 'refused_burst', network: '2001:db8:1:2::/64', networksProbing: 1 })]);
    // More networks within the hour: no more alerts, notices or audit entries.
    for (let n = 3; n <= 7; n++) burst(`2001:db8:1:${n}::1`);
    burst('192.0.2.10');
    await integrationAlertsSettled(ctx);
    expect(await alertsOf(admin)).toHaveLength(1);
    expect(await ctx.db.selectFrom('audit_log').select('seq').where('action', '=', 'security.alert').execute()).toHaveLength(1);
    // The next hour's alert counts the networks seen since.
    clock.advance(hourMs);
    burst('198.51.100.20');
    await integrationAlertsSettled(ctx);
    const raised = await alertsOf(admin);
    expect(raised).toHaveLength(2);
    expect(raised[1]).toMatchObject({ rule: 'refused_burst', networksProbing: 7 });
    expect(raised[1]!.networks).toEqual(expect.arrayContaining(['2001:db8:1:3::/64', '192.0.2.10', '198.51.100.20']));
  });

  it('a key used within a week of its end raises key_expiring once a day, and never suspends', async () => {
    const shop = await insertIntegration(ctx, { locationIds: [depot], autoSuspend: true });
    const key = await insertApiKey(ctx, shop.id, clock.now() + 3 * day);
    const farKey = await insertApiKey(ctx, shop.id, clock.now() + 30 * day);
    await record([callEntry(shop.id, key), callEntry(shop.id, farKey)]);
    const raised = await alertsOf(admin);
    expect(raised).toEqual([expect.objectContaining({ rule: 'key_expiring', credentialId: key, daysLeft: 3, credentialKind: 'api_key' })]);
    clock.advance(2 * hourMs);
    await record([callEntry(shop.id, key)]);
    expect(await alertsOf(admin)).toHaveLength(1);
    clock.advance(day);
    await record([callEntry(shop.id, key)]);
    expect(await alertsOf(admin)).toHaveLength(2);
    const row = await ctx.db.selectFrom('integrations').select('suspended_at').where('id', '=', shop.id).executeTakeFirstOrThrow();
    expect(row.suspended_at).toBeNull();
  });

  it('nothing of a call beyond ids, counts, networks and addresses reaches an alert', async () => {
    const shop = await insertIntegration(ctx, { locationIds: [depot] });
    const key = await insertApiKey(ctx, shop.id, clock.now() + 300 * day);
    await record(many(anomalyPolicy.refusedBurst, () => callEntry(shop.id, key, { status: 404, route: '/api/v1/orders/:orderRef?secret-probe-91c=1' })));
    const alerts = await alertsOf(admin);
    expect(alerts).toHaveLength(1);
    const audit = JSON.stringify(await auditedAlerts(shop.id));
    expect(JSON.stringify(alerts) + audit).not.toContain('secret-probe-91c');
  });
});
