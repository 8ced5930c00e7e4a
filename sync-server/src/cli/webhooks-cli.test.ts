import type { WebhookSecretShown, WebhookSubscriptionView } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';

/** `depotline-admin integration webhook create|list|rotate-secret|pause|resume|delete`, in process, on both databases. */
describe.each(backends)('depotline-admin integration webhook (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  const loopback = { extraEnv: { DEPOTLINE_WEBHOOK_ALLOW_LOOPBACK: '1' } };
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    expect((await runAdmin(env, ['location', 'create', '--id', 'depot-north', '--name', 'North', '--timezone', 'Europe/Berlin'])).code).toBe(0);
    expect((await runAdmin(env, ['integration', 'create', '--name', 'acme-courier', '--kind', 'courier', '--contact', 'ops@acme.example', '--locations', 'depot-north', '--scopes', 'status.read'])).code).toBe(0);
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  const base = ['integration', 'webhook'];
  const on = (command: string, id: string, ...extra: string[]) => [...base, command, '--integration', 'acme-courier', '--subscription', id, ...extra];

  it('subscribes a receiver (secret printed once), lists, rotates, pauses, resumes and deletes it, each audited as the operator', async () => {
    // Off by default: a receiver on this machine, or plain http, is refused with the reason; nothing is stored.
    const refused = await runAdminJson(env, [...base, 'create', '--integration', 'acme-courier', '--url', 'http://127.0.0.1:9/hook', '--events', 'stop.delivered']);
    expect(refused.code).toBe(1);
    expect(JSON.stringify(refused.json)).toContain('https');
    const metadata = await runAdminJson(env, [...base, 'create', '--integration', 'acme-courier', '--url', 'https://169.254.169.254/latest/meta-data', '--events', 'stop.delivered']);
    expect(JSON.stringify(metadata.json)).toContain('link-local');
    expect((await runAdminJson(env, [...base, 'create', '--integration', 'acme-courier', '--url', 'https://127.0.0.1/x', '--events', 'stop.nonsense'], loopback)).code).toBe(1);
    expect(await ctx.db.selectFrom('webhook_subscriptions').select('id').execute()).toEqual([]);

    const created = await runAdminJson<WebhookSecretShown>(env, [...base, 'create', '--integration', 'acme-courier', '--url', 'http://127.0.0.1:9/hook', '--events', 'stop.delivered,stop.failed'], loopback);
    expect(created.code).toBe(0);
    expect(created.json.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = created.json.subscription.id;
    const text = await runAdmin(env, [...base, 'list', '--integration', 'acme-courier']);
    expect(text.stdout).toContain(id);
    expect(text.stdout).not.toContain('whsec_');

    const rotated = await runAdminJson<WebhookSecretShown>(env, on('rotate-secret', id, '--old-ends', new Date(Date.now() + 86_400_000).toISOString()));
    expect(rotated.code).toBe(0);
    expect(rotated.json.secret).not.toBe(created.json.secret);
    expect(Date.parse(String(rotated.json.subscription.previousSecretEndsAt))).toBeGreaterThan(Date.now());
    expect((await runAdmin(env, on('rotate-secret', id, '--old-ends', new Date(Date.now() + 40 * 86_400_000).toISOString()))).code).toBe(1);

    expect((await runAdminJson<{ subscription: WebhookSubscriptionView }>(env, on('pause', id))).json.subscription).toMatchObject({ status: 'paused', pauseReason: 'admin' });
    expect((await runAdminJson(env, on('resume', id))).json).toMatchObject({ subscription: { status: 'active' }, requeued: 0 });
    expect((await runAdmin(env, on('delete', id))).code).toBe(0);
    expect((await runAdmin(env, on('pause', id))).code).toBe(1);
    expect((await runAdminJson<{ subscriptions: unknown[] }>(env, [...base, 'list', '--integration', 'acme-courier'])).json.subscriptions).toEqual([]);

    const audit = await ctx.db.selectFrom('audit_log').select(['action', 'actor', 'details', 'location_id']).where('target_type', '=', 'webhook_subscription').orderBy('seq').execute();
    expect(audit.map((a) => a.action)).toEqual(['webhook.create', 'webhook.rotate_secret', 'webhook.pause', 'webhook.resume', 'webhook.delete']);
    for (const a of audit) {
      expect(a.actor).toMatch(/^cli:/);
      expect(a.location_id).toBe('depot-north');
      expect(a.details).not.toContain('whsec_');
      expect(a.details).not.toContain('/hook');
    }
  });
});
