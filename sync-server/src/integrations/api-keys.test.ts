import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, type CredentialWorld, credentialWorld, dayMs, readPath, registerIntegration, suspendIntegration } from '../../test/credential-fixtures';
import { buildUser, restCall, signIn } from '../../test/factories';
import { refusalDigestWindowMs } from '../audit/refusal-digest';
import { backends } from '../../test/harness';
import { checksum, mintSecret, randomBase62 } from './credential-format';
import { lastUseWriteEveryMs } from './credentials';

/**
 * API keys as an attacker would try them: every malformed, forged, revoked, expired, rotated-out
 * or foreign key is refused with the one RFC 6750 answer and audited without its secret; a key
 * is never wider than its integration; rotation overlaps for the chosen time and then ends.
 */
describe.each(backends)('integration API keys (%s)', (backend) => {
  let w: CredentialWorld;
  beforeAll(async () => {
    w = await credentialWorld(backend);
  }, 60_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const expectRefused = (res: { status: number; headers: Headers; body: Record<string, unknown> | null }) => {
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect((res.body?.error as { code: string }).code).toBe('unauthenticated');
  };
  /** A well-formed key with a valid checksum for a public id and secret of our choosing. */
  const forge = (id: string, secret = randomBase62(43)) => {
    const body = `${id}_${secret}`;
    return body + checksum(body);
  };

  it('a key is shown once, kept only as a hash, works at its integration, and records its last use at most once a minute', async () => {
    const { id, secret } = await w.makeKey();
    expect(secret).toMatch(/^dlk_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$/);
    expect(secret.startsWith(`${id}_`)).toBe(true);
    const row = await w.ctx.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(secret.slice(id.length + 1, -6));
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    const list = await w.asAdmin('GET', `/integrations/${w.shopId}/keys`);
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(secret.slice(id.length + 1, -6));
    expect((list.body!.keys as { id: string; status: string }[]).find((k) => k.id === id)?.status).toBe('active');

    expect((await w.machine(readPath(w.A), secret)).status).toBe(200);
    const first = await w.ctx.db.selectFrom('api_keys').select(['last_used_at', 'last_used_ip']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(Number(first.last_used_at)).toBe(w.clock.now());
    expect(first.last_used_ip).toMatch(/127\.0\.0\.1|::1/);
    w.clock.advance(lastUseWriteEveryMs / 2);
    expect((await w.machine(readPath(w.A), secret)).status).toBe(200);
    const second = await w.ctx.db.selectFrom('api_keys').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(Number(second.last_used_at)).toBe(Number(first.last_used_at));
    w.clock.advance(lastUseWriteEveryMs);
    expect((await w.machine(readPath(w.A), secret)).status).toBe(200);
    const third = await w.ctx.db.selectFrom('api_keys').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(Number(third.last_used_at)).toBe(w.clock.now());
  });

  it('malformed, forged and unknown keys get one 401 answer, and each refusal is audited without the secret', async () => {
    const { id, secret } = await w.makeKey();
    const wrongChecksum = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    const attempts: [string, { authorization: string } | string, string][] = [
      ['missing', { authorization: '' }, 'missing'],
      ['another scheme', { authorization: `Basic ${Buffer.from(`x:${secret}`).toString('base64')}` }, 'malformed'],
      ['a bad checksum', wrongChecksum, 'checksum'],
      ['an unknown id', forge(`dlk_${randomBase62(16)}`), 'unknown'],
      ['a wrong secret for a real id', forge(id), 'secret'],
      ['not a key at all', 'hunter2', 'malformed'],
      ['a client secret as bearer', mintSecret('clientSecret').text, 'malformed'],
    ];
    for (const [what, credential, reason] of attempts) {
      // A minute apart: within a minute, refusals like an earlier one from the same network are digested (audit/refusal-digest.ts).
      w.clock.advance(refusalDigestWindowMs);
      const res = await w.machine(readPath(w.A), credential);
      expect(res.status, what).toBe(401);
      expectRefused(res);
      const last = (await auditRows(w.ctx, 'integration.authenticate')).at(-1)!;
      expect(last.outcome, what).toBe('denied');
      expect(last.details.reason, what).toBe(reason);
    }
    const audited = JSON.stringify(await auditRows(w.ctx, 'integration.authenticate'));
    expect(audited).not.toContain(secret.slice(id.length + 1, -6));
    // The real key still works: nothing above locked it.
    expect((await w.machine(readPath(w.A), secret)).status).toBe(200);
  });

  it('a key needs an expiry within the policy and scopes within its integration; a refused key is not stored', async () => {
    const before = await w.ctx.db.selectFrom('api_keys').select('id').execute();
    const now = w.clock.now();
    const bad: [string, unknown][] = [
      ['no expiry', { name: 'k', scopes: ['orders.read'] }],
      ['an expiry in the past', { name: 'k', scopes: ['orders.read'], expiresAt: now - 1 }],
      ['an expiry past the policy maximum', { name: 'k', scopes: ['orders.read'], expiresAt: now + 366 * dayMs }],
      ['a scope the integration does not hold', { name: 'k', scopes: ['orders.read', 'pod.read'], expiresAt: now + dayMs }],
      ['a user permission as scope', { name: 'k', scopes: ['stop.edit'], expiresAt: now + dayMs }],
      ['no scope', { name: 'k', scopes: [], expiresAt: now + dayMs }],
    ];
    for (const [what, body] of bad) {
      const res = await w.asAdmin('POST', `/integrations/${w.shopId}/keys`, body);
      expect(res.status, what).toBe(400);
      expect((res.body!.error as { code: string }).code, what).toBe('bad_request');
    }
    // The courier holds no orders.write: its key cannot either.
    expect((await w.asAdmin('POST', `/integrations/${w.courierId}/keys`, { name: 'k', scopes: ['orders.write'], expiresAt: now + dayMs })).status).toBe(400);
    expect(await w.ctx.db.selectFrom('api_keys').select('id').execute()).toHaveLength(before.length);
  });

  it('an expired key and a revoked key are refused at once', async () => {
    const expiring = await w.makeKey({ days: 1 });
    const revoked = await w.makeKey();
    expect((await w.machine(readPath(w.A), revoked.secret)).status).toBe(200);
    const res = await w.asAdmin('POST', `/integrations/${w.shopId}/keys/${revoked.id}/revoke`);
    expect(res.status).toBe(200);
    expect((res.body!.key as { status: string }).status).toBe('revoked');
    expectRefused(await w.machine(readPath(w.A), revoked.secret));
    expect((await auditRows(w.ctx, 'integration.authenticate')).at(-1)!.details).toMatchObject({ reason: 'revoked', credentialId: revoked.id });
    expect((await auditRows(w.ctx, 'integration.key.revoke')).at(-1)).toMatchObject({ outcome: 'ok', target_id: revoked.id });

    expect((await w.machine(readPath(w.A), expiring.secret)).status).toBe(200);
    w.clock.advance(dayMs + 1);
    expectRefused(await w.machine(readPath(w.A), expiring.secret));
    expect((await auditRows(w.ctx, 'integration.authenticate')).at(-1)!.details).toMatchObject({ reason: 'expired', credentialId: expiring.id });
  });

  it('rotation: the old and the new key both work until the end the admin chose, then only the new one', async () => {
    const old = await w.makeKey({ scopes: ['orders.read'] });
    const now = w.clock.now();
    expect((await w.asAdmin('POST', `/integrations/${w.shopId}/keys/${old.id}/rotate`, { oldEndsAt: now + 31 * dayMs })).status).toBe(400);
    expect((await w.asAdmin('POST', `/integrations/${w.shopId}/keys/${old.id}/rotate`, { oldEndsAt: now - 1 })).status).toBe(400);
    const rotated = await w.asAdmin('POST', `/integrations/${w.shopId}/keys/${old.id}/rotate`, { oldEndsAt: now + 2 * dayMs });
    expect(rotated.status).toBe(201);
    const fresh = { id: (rotated.body!.key as { id: string }).id, secret: rotated.body!.secret as string };
    expect(rotated.body!.key).toMatchObject({ scopes: ['orders.read'], status: 'active' });
    expect(rotated.body!.previous).toMatchObject({ id: old.id, status: 'ending', endsAt: now + 2 * dayMs, replacedBy: fresh.id });
    // Rotating the old key again would leave two successors.
    expect((await w.asAdmin('POST', `/integrations/${w.shopId}/keys/${old.id}/rotate`, { oldEndsAt: now + dayMs })).status).toBe(409);

    expect((await w.machine(readPath(w.A), old.secret)).status).toBe(200);
    expect((await w.machine(readPath(w.A), fresh.secret)).status).toBe(200);
    w.clock.advance(2 * dayMs - 1000);
    expect((await w.machine(readPath(w.A), old.secret)).status).toBe(200);
    w.clock.advance(1000);
    expectRefused(await w.machine(readPath(w.A), old.secret));
    expect((await auditRows(w.ctx, 'integration.authenticate')).at(-1)!.details).toMatchObject({ reason: 'rotated', credentialId: old.id });
    expect((await w.machine(readPath(w.A), fresh.secret)).status).toBe(200);
    const keys = (await w.asAdmin('GET', `/integrations/${w.shopId}/keys`)).body!.keys as { id: string; status: string }[];
    expect(keys.find((k) => k.id === old.id)?.status).toBe('expired');
  });

  it('another integration\u2019s key reaches nothing of this one, and cannot be revoked through it', async () => {
    const courierKey = await w.makeKey({ integrationId: w.courierId, scopes: ['orders.read'] });
    expect((await w.machine(readPath(w.B), courierKey.secret)).status).toBe(200);
    const foreign = await w.machine(readPath(w.A), courierKey.secret);
    expect(foreign.status).toBe(403);
    expect((await w.asAdmin('POST', `/integrations/${w.shopId}/keys/${courierKey.id}/revoke`)).status).toBe(404);
    expect((await w.machine(readPath(w.B), courierKey.secret)).status).toBe(200);
    // A key scoped narrower than its integration: status.read only, so orders.read is refused.
    const narrow = await w.makeKey({ scopes: ['status.read'] });
    expect((await w.machine(readPath(w.A), narrow.secret)).status).toBe(403);
  });

  it('an admin of one depot cannot make, list or revoke keys of an integration that also acts at another depot', async () => {
    const both = await registerIntegration(w.ctx, `both-${w.A}`.toLowerCase(), [
      { locationId: w.A, permissions: ['orders.read'] }, { locationId: w.B, permissions: ['orders.read'] },
    ]);
    const key = await w.makeKey({ integrationId: both, scopes: ['orders.read'] });
    const adminA = await buildUser(w.ctx, { role: 'admin', locationIds: [w.A], withTotp: true });
    w.clock.advance(30_000);
    const token = (await signIn(w.server.url, w.ctx, adminA)).tokens.accessToken;
    const asA = (method: string, path: string, body?: unknown) => restCall(w.server.url, method, path, { token, body });
    const made = await asA('POST', `/integrations/${both}/keys`, { name: 'k', scopes: ['orders.read'], expiresAt: w.clock.now() + dayMs });
    expect(made.status).toBe(403);
    expect((await asA('GET', `/integrations/${both}/keys`)).status).toBe(403);
    expect((await asA('POST', `/integrations/${both}/keys/${key.id}/revoke`)).status).toBe(403);
    expect((await w.machine(readPath(w.B), key.secret)).status).toBe(200);
    const denied = (await auditRows(w.ctx, 'integration.key.create')).filter((r) => r.outcome === 'denied');
    expect(denied.at(-1)).toMatchObject({ target_id: both, details: { permission: 'integration.manage' } });
  });

  it('every key of a suspended integration is refused until it is resumed', async () => {
    const other = await registerIntegration(w.ctx, `paused-${w.A}`.toLowerCase(), [{ locationId: w.A, permissions: ['orders.read'] }]);
    const key = await w.makeKey({ integrationId: other, scopes: ['orders.read'] });
    expect((await w.machine(readPath(w.A), key.secret)).status).toBe(200);
    await suspendIntegration(w.ctx, other);
    expect((await w.machine(readPath(w.A), key.secret)).status).toBe(403);
  });
});
