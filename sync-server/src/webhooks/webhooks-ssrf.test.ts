/**
 * The SSRF guard as an attacker meets it through the API (docs/security-model.md "Webhooks"):
 * internal targets refused when saved, a name that resolves to this machine refused when the
 * server connects, and a redirect never followed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { startReceiver, type Receiver } from '../../test/webhook-receiver';
import { attemptsOf, deliveriesOf, push, registerIntegration, setStatus, subscribe, webhookTestSettings } from '../../test/webhook-world';
import { buildWorld, eventually, rest, sleep, type World } from '../../test/world';

describe.each(backends)('webhook SSRF guard (%s)', (backend) => {
  let w: World;
  let receiver: Receiver;
  let integrationId: string;

  beforeEach(async () => {
    w = await buildWorld(backend, 2);
    webhookTestSettings(w.ctx);
    receiver = await startReceiver();
    integrationId = await registerIntegration(w.ctx, 'courier-ssrf', [{ locationId: w.A, permissions: ['status.read'] }]);
  });
  afterEach(async () => {
    await receiver.close();
    await w.dispose();
  });

  const allowLoopback = (allow: boolean) => webhookTestSettings(w.ctx, { allowLoopback: allow });

  it('refuses internal, metadata and non-https targets when saved, saying why, and stores nothing', async () => {
    allowLoopback(false);
    const targets: [string, RegExp][] = [
      [`${receiver.origin}/hooks`, /https/],
      ['http://hooks.partner.example/in', /https/],
      [`https://127.0.0.1:${receiver.port}/hooks`, /loopback/],
      [`https://localhost:${receiver.port}/hooks`, /localhost resolves to a private or reserved address/],
      ['https://[::1]/hooks', /loopback/],
      ['https://[::ffff:127.0.0.1]/hooks', /loopback/],
      ['https://10.20.30.40/hooks', /private/],
      ['https://192.168.1.10/hooks', /private/],
      ['https://169.254.169.254/latest/meta-data/iam/security-credentials/', /link-local/],
      ['https://[fd00::1]/hooks', /private network address/],
      ['https://100.64.1.1/hooks', /carrier-grade/],
      ['https://0.0.0.0/hooks', /unspecified/],
      ['https://user:secret@hooks.partner.example/in', /user name or password/],
      ['https://168.63.129.16/machine?comp=goalstate', /cloud host/],
      ['https://100.100.100.200/latest/meta-data/', /cloud metadata/],
      ['https://[fd00:ec2::254]/latest/meta-data/', /cloud metadata/],
      ['https://[::7f00:1]/hooks', /IPv4-compatible/],
      ['https://[64:ff9b::a9fe:a9fe]/hooks', /link-local.*NAT64/],
      ['https://198.18.0.1/hooks', /benchmarking/],
    ];
    for (const [url, why] of targets) {
      const r = await rest(w, 'POST', `/integrations/${integrationId}/webhooks`, w.users.admin.token, { url, events: ['stop.delivered'] });
      expect(r.status, url).toBe(400);
      expect(JSON.stringify(r.body), url).toMatch(why);
    }
    // A name is judged without telling the admin what it resolves to (no DNS oracle for internal names).
    const named = await rest(w, 'POST', `/integrations/${integrationId}/webhooks`, w.users.admin.token, { url: `https://localhost:${receiver.port}/hooks`, events: ['stop.delivered'] });
    expect(JSON.stringify(named.body)).not.toMatch(/127\.0\.0\.1|::1/);
    expect(await w.ctx.db.selectFrom('webhook_subscriptions').select('id').execute()).toEqual([]);
    expect(receiver.connections()).toBe(0);
  });

  it('the on-premises allowance lets https receivers in the listed private networks through, never metadata inside them', async () => {
    allowLoopback(false);
    webhookTestSettings(w.ctx, { allowLoopback: false, allowCidrs: ['10.20.0.0/16', 'fd00::/8'] });
    const save = (url: string) => rest(w, 'POST', `/integrations/${integrationId}/webhooks`, w.users.admin.token, { url, events: ['stop.delivered'] });
    expect((await save('https://10.20.30.40/hooks')).status).toBe(201);
    for (const [url, why] of [
      ['https://10.21.0.1/hooks', /private/], ['http://10.20.30.41/hooks', /https/], ['https://[fd00:ec2::254]/', /cloud metadata/],
      ['https://169.254.169.254/', /link-local/], ['https://127.0.0.1/', /loopback/],
    ] as const) {
      const r = await save(url);
      expect(r.status, url).toBe(400);
      expect(JSON.stringify(r.body), url).toMatch(why);
    }
    expect(await w.ctx.db.selectFrom('webhook_subscriptions').select('url').execute()).toEqual([{ url: 'https://10.20.30.40/hooks' }]);
  });

  it('checks again when connecting: a name resolving to this machine is refused once the allowance is off, before any connection', async () => {
    allowLoopback(true);
    const sub = await subscribe(w, integrationId, `https://localhost:${receiver.port}/hooks`, ['stop.status_changed']);
    allowLoopback(false);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[0]!.id, 'en_route')]);
    const [delivery] = await deliveriesOf(w.ctx, sub.id);
    expect(await eventually(async () => (await attemptsOf(w.ctx, delivery!.id)).length > 0, 20_000)).toBe(true);
    const [attempt] = await attemptsOf(w.ctx, delivery!.id);
    expect([attempt!.status_code, attempt!.error]).toEqual([null, 'address_refused']);
    expect(attempt!.next_retry_at).not.toBeNull();
    expect(receiver.connections()).toBe(0);
    // Saved under the allowance as plain http to 127.0.0.1: refused too when it is turned off.
    allowLoopback(true);
    const plain = await subscribe(w, integrationId, `${receiver.origin}/plain`, ['stop.status_changed']);
    allowLoopback(false);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[1]!.id, 'en_route')]);
    const [second] = await deliveriesOf(w.ctx, plain.id);
    expect(await eventually(async () => (await attemptsOf(w.ctx, second!.id)).length > 0, 20_000)).toBe(true);
    expect((await attemptsOf(w.ctx, second!.id))[0]!.error).toBe('address_refused');
    expect(receiver.connections()).toBe(0);
  });

  it('does not follow a redirect (to the metadata address or anywhere): it counts as a failed attempt', async () => {
    const target = await startReceiver({ status: 200 });
    try {
      receiver.answer({ status: 302, headers: { location: `${target.origin}/latest/meta-data/` } });
      const sub = await subscribe(w, integrationId, `${receiver.origin}/hooks`, ['stop.status_changed']);
      await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A2[0]!.id, 'en_route')]);
      const [delivery] = await deliveriesOf(w.ctx, sub.id);
      expect(await eventually(async () => (await attemptsOf(w.ctx, delivery!.id)).length > 0, 20_000)).toBe(true);
      const [attempt] = await attemptsOf(w.ctx, delivery!.id);
      expect([attempt!.status_code, attempt!.error]).toEqual([302, 'redirect']);
      await sleep(200);
      expect(target.received).toHaveLength(0);
      expect(target.connections()).toBe(0);
      expect((await deliveriesOf(w.ctx, sub.id))[0]).toMatchObject({ status: 'pending', last_status: 'redirect' });
    } finally {
      await target.close();
    }
  });
});
