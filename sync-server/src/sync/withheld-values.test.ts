import fs from 'node:fs';
import path from 'node:path';
import type { Change, PullResponse, PushResponse, Stop } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin } from '../../test/admin-cli';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildUser, newDeviceId, restCall, signIn, testClock, type TestClock, totpNow } from '../../test/factories';
import { buildWorld, connectSocket, eventually, mutationId, rest, type World } from '../../test/world';
import { withheldReportsSettled } from './withheld-stops';

/**
 * An insider with database access swaps one stored ciphertext for another row's: the value no
 * longer decrypts (its associated data names another row). That value is withheld and reported
 * once; everything else keeps serving (docs/security-model.md, "Tampered values").
 */
describe.each(backends)('a tampered stop value (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 3);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  const stopAlerts = async (stopId: string) =>
    w.ctx.db.selectFrom('audit_log').select(['action', 'target_type', 'target_id', 'location_id', 'details'])
      .where('action', '=', 'security.alert').where('target_id', '=', stopId).execute();

  async function pullStops(token: string): Promise<Stop[]> {
    const r = await rest(w, 'GET', `/locations/${w.A}/changes?after=0&limit=1000`, token);
    expect(r.status).toBe(200);
    return (r.body as unknown as PullResponse).changes.flatMap((c: Change) => (c.entity === 'stop' ? [c.data] : []));
  }

  it('the pull of the location succeeds, the swapped field is withheld and marked, and one alert names the stop', async () => {
    const victim = w.stops.A1[0]!;
    const donor = w.stops.A1[1]!;
    const donorRow = await w.ctx.db.selectFrom('stops').select('address_enc').where('id', '=', donor.id).executeTakeFirstOrThrow();
    await w.ctx.db.updateTable('stops').set({ address_enc: donorRow.address_enc }).where('id', '=', victim.id).execute();

    for (let i = 0; i < 3; i++) {
      const stops = await pullStops(w.users.dispatcher.token);
      expect(stops).toHaveLength(6);
      const tampered = stops.find((s) => s.id === victim.id)!;
      expect(tampered.address).toBeUndefined();
      expect(tampered.withheld).toEqual(['address']);
      // The rest of the stop, and every other stop, is served as usual.
      expect(tampered).toMatchObject({ customerName: victim.customerName, phone: victim.phone, notes: victim.notes });
      expect(stops.find((s) => s.id === donor.id)).toMatchObject({ address: donor.address });
      expect(stops.filter((s) => s.withheld !== undefined)).toHaveLength(1);
    }
    await withheldReportsSettled(w.ctx);
    const alerts = await stopAlerts(victim.id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ target_type: 'stop', location_id: w.A });
    expect(JSON.parse(alerts[0]!.details)).toEqual({ kind: 'value_withheld', table: 'stops', values: [{ column: 'address', reason: 'unauthentic' }] });
    // Neither plaintext reached the log.
    expect(alerts[0]!.details).not.toContain(donor.address);
    // The location's admins (security.read) get one notice naming the stop; nobody else does.
    const notices = await w.ctx.db.selectFrom('security_alerts').select(['user_id', 'kind', 'details']).where('kind', '=', 'record_withheld').execute();
    expect(notices.map((n) => n.user_id)).toEqual([w.users.admin.id]);
    expect(JSON.parse(notices[0]!.details)).toMatchObject({ table: 'stops', rowId: victim.id, locationId: w.A, values: [{ column: 'address', reason: 'unauthentic' }] });
  });

  it('a viewer who may not see the field is not told it is withheld', async () => {
    const victim = w.stops.A1[0]!;
    const reporting = (await pullStops(w.users.reporting.token)).find((s) => s.id === victim.id)!;
    expect(reporting.withheld).toBeUndefined();
    expect(reporting.address).toBeUndefined();
    // Finance sees addresses, so it sees that this one is withheld.
    const finance = (await pullStops(w.users.finance.token)).find((s) => s.id === victim.id)!;
    expect(finance.withheld).toEqual(['address']);
  });

  it('edits and the live feed keep working for the tampered stop, without a second alert', async () => {
    const victim = w.stops.A1[0]!;
    const watcher = await connectSocket(w.server.url, w.users.manager.token);
    try {
      const r = await rest(w, 'POST', '/sync/push', w.users.dispatcher.token, {
        mutations: [{ id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.setStatus', stopId: victim.id, to: 'en_route' }],
      });
      expect((r.body as unknown as PushResponse).results[0]!.status).toBe('applied');
      const liveOf = () => (watcher.received as Change[]).flatMap((c) => (c.entity === 'stop' && c.data.id === victim.id ? [c.data] : []));
      expect(await eventually(() => liveOf().length > 0)).toBe(true);
      expect(liveOf()[0]).toMatchObject({ status: 'en_route', withheld: ['address'], customerName: victim.customerName });
      expect(liveOf()[0]!.address).toBeUndefined();
    } finally {
      watcher.disconnect();
    }
    await withheldReportsSettled(w.ctx);
    expect(await stopAlerts(victim.id)).toHaveLength(1);
  });

  it('found first inside a push, the stop is still edited, answered and reported once', async () => {
    const victim = w.stops.A2[0]!;
    await w.ctx.db.updateTable('stops').set({ customer_name_enc: 'not a ciphertext' }).where('id', '=', victim.id).execute();
    const r = await rest(w, 'POST', '/sync/push', w.users.dispatcher.token, {
      mutations: [{ id: mutationId(), locationId: w.A, createdAt: Date.now(), type: 'stop.editNotes', stopId: victim.id, notes: 'Side door' }],
    });
    expect((r.body as unknown as PushResponse).results[0]!.status).toBe('applied');
    await withheldReportsSettled(w.ctx);
    const alerts = await stopAlerts(victim.id);
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0]!.details)).toMatchObject({ values: [{ column: 'customer_name', reason: 'malformed' }] });
    const stop = (await pullStops(w.users.dispatcher.token)).find((s) => s.id === victim.id)!;
    expect(stop).toMatchObject({ notes: 'Side door', address: victim.address, withheld: ['customerName'] });
  });

  it('an export on the command line reports what it withheld before the database closes', async () => {
    const victim = w.stops.B1[0]!;
    const donor = w.stops.B1[1]!;
    const donorRow = await w.ctx.db.selectFrom('stops').select('phone_enc').where('id', '=', donor.id).executeTakeFirstOrThrow();
    await w.ctx.db.updateTable('stops').set({ phone_enc: donorRow.phone_enc }).where('id', '=', victim.id).execute();
    const out = path.join(w.server.env.dir, 'b.csv');
    const run = await runAdmin(w.server.env, ['export', 'stops', '--location', w.B, '--from', '2026-11-22', '--to', '2026-11-22', '--classes', 'operational,customer', '--out', out]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // The donor's number appears in the donor's row only, never as the victim's.
    expect(fs.readFileSync(out, 'utf8').split(donor.phone)).toHaveLength(2);
    // Written by the command's own process, not by the server's.
    const alerts = await stopAlerts(victim.id);
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0]!.details)).toMatchObject({ values: [{ column: 'phone', reason: 'unauthentic' }] });
  });

  it('another field going bad in the same stop is alerted again at once', async () => {
    const victim = w.stops.A1[0]!;
    await w.ctx.db.updateTable('stops').set({ notes_enc: 'v1.00000000.AAAA.AAAA' }).where('id', '=', victim.id).execute();
    const stop = (await pullStops(w.users.dispatcher.token)).find((s) => s.id === victim.id)!;
    expect(new Set(stop.withheld)).toEqual(new Set(['address', 'notes']));
    await withheldReportsSettled(w.ctx);
    const alerts = await stopAlerts(victim.id);
    expect(alerts).toHaveLength(2);
    expect(JSON.parse(alerts[1]!.details)).toMatchObject({ values: [{ column: 'address', reason: 'unauthentic' }, { column: 'notes', reason: 'unknown_key' }] });
  });
});

describe.each(backends)('a planted TOTP seed (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;
  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, {}, { now: clock.now });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('refuses that user\'s sign-in with a clear error and one alert, never bypassing MFA; others sign in', async () => {
    const victim = await buildUser(server.ctx, { role: 'dispatcher', withTotp: true });
    const attacker = await buildUser(server.ctx, { role: 'dispatcher', withTotp: true });
    const bystander = await buildUser(server.ctx, { role: 'dispatcher', withTotp: true });
    const victimSession = await signIn(server.url, server.ctx, victim);
    // The insider copies their own seed's ciphertext onto the victim, to sign in with their own codes.
    const planted = await server.ctx.db.selectFrom('users').select('totp_secret_enc').where('id', '=', attacker.id).executeTakeFirstOrThrow();
    await server.ctx.db.updateTable('users').set({ totp_secret_enc: planted.totp_secret_enc }).where('id', '=', victim.id).execute();

    for (const code of [totpNow(server.ctx, attacker), totpNow(server.ctx, victim), '000000']) {
      clock.advance(30_000);
      const r = await restCall(server.url, 'POST', '/auth/login', { body: { username: victim.username, password: victim.password, deviceId: newDeviceId(), totp: code } });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ error: { code: 'mfa_unavailable' } });
      expect(r.body?.tokens).toBeUndefined();
    }
    // No code at all is still "enter a code", not a way around the factor.
    const bare = await restCall(server.url, 'POST', '/auth/login', { body: { username: victim.username, password: victim.password, deviceId: newDeviceId() } });
    expect(bare.body).toMatchObject({ error: { code: 'mfa_required' } });

    const alerts = await server.ctx.db.selectFrom('security_alerts').selectAll().where('user_id', '=', victim.id).execute();
    expect(alerts.map((a) => a.kind)).toEqual(['value_withheld']);
    expect(JSON.parse(alerts[0]!.details)).toEqual({ kind: 'value_withheld', table: 'users', values: [{ column: 'totp_secret', reason: 'unauthentic' }] });
    const entries = await server.ctx.db.selectFrom('audit_log').select(['action', 'outcome', 'details']).where('target_id', '=', victim.id).orderBy('seq').execute();
    expect(entries.filter((e) => e.action === 'security.alert')).toHaveLength(1);
    expect(entries.filter((e) => e.action === 'auth.login' && e.outcome === 'failed' && e.details.includes('mfa_seed_unreadable'))).toHaveLength(3);
    expect(await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', victim.id).execute()).toHaveLength(1);

    // A session opened before the plant cannot use the planted seed to add a factor either.
    clock.advance(30_000);
    const mint = await restCall(server.url, 'POST', '/me/recovery-codes', {
      token: victimSession.tokens.accessToken, body: { password: victim.password, totp: totpNow(server.ctx, attacker) },
    });
    expect(mint.status).toBe(401);
    expect(mint.body).toMatchObject({ error: { code: 'mfa_unavailable' } });
    expect(await server.ctx.db.selectFrom('recovery_codes').select('id').where('user_id', '=', victim.id).execute()).toEqual([]);
    expect(await server.ctx.db.selectFrom('security_alerts').select('id').where('user_id', '=', victim.id).execute()).toHaveLength(1);

    clock.advance(30_000);
    await expect(signIn(server.url, server.ctx, bystander)).resolves.toMatchObject({ status: 'ok' });
    await expect(signIn(server.url, server.ctx, attacker)).resolves.toMatchObject({ status: 'ok' });
  });
});
