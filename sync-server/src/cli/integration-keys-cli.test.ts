/**
 * `depotline-admin integration key|oauth-client ...` on SQLite and PostgreSQL: a secret is
 * printed once by the command that made it and never by a list; the policy (expiry, scopes
 * within the integration) holds on the command line as over REST; rotation and revocation act
 * on what the server accepts at once; every change is audited as the operator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { dayMs, registerIntegration } from '../../test/credential-fixtures';
import { buildLocation } from '../../test/factories';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';
import { authenticateMachine } from '../integrations/credentials';
import { authenticateClient } from '../integrations/oauth-tokens';

const cliTimeout = 180_000;

describe.each(backends)('depotline-admin integration credentials (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  let integration: string;
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    const location = (await buildLocation(ctx)).id;
    await registerIntegration(ctx, 'acme-shop', [{ locationId: location, permissions: ['orders.write', 'status.read'] }]);
    integration = 'acme-shop';
  }, cliTimeout);
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  const inDays = (days: number) => new Date(Date.now() + days * dayMs).toISOString().slice(0, 10);
  const accepts = (secret: string) => authenticateMachine(ctx, `Bearer ${secret}`, '127.0.0.1', Date.now()).then(() => true, () => false);

  it('key create prints the key once; list never shows it; rotate keeps both until the old end; revoke ends it at once', async () => {
    const made = await runAdmin(env, ['integration', 'key', 'create', '--integration', integration, '--name', 'order sync', '--scopes', 'orders.write,status.read', '--expires', inDays(90)]);
    expect(made.code).toBe(0);
    const secret = /API key: (dlk_\S+)/.exec(made.stdout)?.[1];
    expect(secret).toMatch(/^dlk_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$/);
    expect(made.stdout).toContain('not shown again');
    expect(await accepts(secret!)).toBe(true);
    const keyId = secret!.slice(0, 20);

    const list = await runAdmin(env, ['integration', 'key', 'list', '--integration', integration]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(keyId);
    expect(list.stdout).not.toContain(secret!.slice(21));
    const listJson = await runAdminJson<{ keys: { id: string; status: string }[] }>(env, ['integration', 'key', 'list', '--integration', integration]);
    expect(listJson.json.keys).toEqual([expect.objectContaining({ id: keyId, status: 'active' })]);
    expect(JSON.stringify(listJson.json)).not.toContain(secret!.slice(21));

    const rotated = await runAdminJson<{ key: { id: string }; secret: string; previous: { status: string } }>(
      env, ['integration', 'key', 'rotate', '--integration', integration, '--key', keyId, '--old-ends', inDays(7)],
    );
    expect(rotated.code).toBe(0);
    expect(rotated.json.previous.status).toBe('ending');
    expect(await accepts(secret!)).toBe(true);
    expect(await accepts(rotated.json.secret)).toBe(true);

    const now = await runAdminJson(env, ['integration', 'key', 'rotate', '--integration', integration, '--key', rotated.json.key.id, '--old-ends', 'now']);
    expect(now.code).toBe(0);
    expect(await accepts(rotated.json.secret)).toBe(false);

    expect((await runAdminJson(env, ['integration', 'key', 'revoke', '--integration', integration, '--key', keyId])).code).toBe(0);
    expect(await accepts(secret!)).toBe(false);
    const audited = await ctx.db.selectFrom('audit_log').select(['action', 'actor', 'details']).where('action', 'like', 'integration.key.%').orderBy('seq').execute();
    expect(audited.map((r) => r.action)).toEqual(['integration.key.create', 'integration.key.rotate', 'integration.key.rotate', 'integration.key.revoke']);
    expect(audited.every((r) => r.actor.startsWith('cli:'))).toBe(true);
    expect(JSON.stringify(audited)).not.toContain(secret!.slice(21));
  }, cliTimeout);

  it('refuses a key wider than the integration, one without expiry or past the policy, and stores nothing', async () => {
    const before = (await ctx.db.selectFrom('api_keys').select('id').execute()).length;
    const wider = await runAdminJson(env, ['integration', 'key', 'create', '--integration', integration, '--name', 'k', '--scopes', 'orders.read', '--expires', inDays(30)]);
    expect(wider).toMatchObject({ code: 1, json: { error: { code: 'bad_request' } } });
    const tooLong = await runAdminJson(env, ['integration', 'key', 'create', '--integration', integration, '--name', 'k', '--scopes', 'status.read', '--expires', inDays(400)]);
    expect(tooLong).toMatchObject({ code: 1, json: { error: { code: 'bad_request' } } });
    const noExpiry = await runAdmin(env, ['integration', 'key', 'create', '--integration', integration, '--name', 'k', '--scopes', 'status.read']);
    expect(noExpiry.code).toBe(2);
    const unknown = await runAdminJson(env, ['integration', 'key', 'create', '--integration', 'nobody', '--name', 'k', '--scopes', 'status.read', '--expires', inDays(30)]);
    expect(unknown).toMatchObject({ code: 1, json: { error: { code: 'not_found' } } });
    expect((await ctx.db.selectFrom('api_keys').select('id').execute()).length).toBe(before);
  }, cliTimeout);

  it('oauth-client create prints the secret once; rotate keeps the old secret until the end; revoke refuses both', async () => {
    const made = await runAdminJson<{ client: { id: string }; clientSecret: string }>(
      env, ['integration', 'oauth-client', 'create', '--integration', integration, '--name', 'tracking', '--scopes', 'status.read', '--expires', inDays(30)],
    );
    expect(made.code).toBe(0);
    const { id } = made.json.client;
    expect(id).toMatch(/^dlc_[0-9A-Za-z]{16}$/);
    expect((await authenticateClient(ctx.db, id, made.json.clientSecret, Date.now())).ok).toBe(true);
    const list = await runAdmin(env, ['integration', 'oauth-client', 'list', '--integration', integration]);
    expect(list.stdout).toContain(id);
    expect(list.stdout).not.toContain(made.json.clientSecret);

    const rotated = await runAdminJson<{ clientSecret: string }>(env, ['integration', 'oauth-client', 'rotate', '--integration', integration, '--client', id, '--old-ends', inDays(2)]);
    expect(rotated.code).toBe(0);
    expect((await authenticateClient(ctx.db, id, made.json.clientSecret, Date.now())).ok).toBe(true);
    expect((await authenticateClient(ctx.db, id, rotated.json.clientSecret, Date.now())).ok).toBe(true);
    expect((await authenticateClient(ctx.db, id, made.json.clientSecret, Date.now() + 3 * dayMs)).ok).toBe(false);

    expect((await runAdminJson(env, ['integration', 'oauth-client', 'revoke', '--integration', integration, '--client', id])).code).toBe(0);
    expect(await authenticateClient(ctx.db, id, rotated.json.clientSecret, Date.now())).toEqual({ ok: false, reason: 'revoked' });
  }, cliTimeout);
});
