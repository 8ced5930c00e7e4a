/**
 * Customer privacy end to end over HTTP (docs/api.md "Customer privacy"): stops written through
 * the push with phones in different formats, found by an admin through the blind index;
 * rectification reaching every stop as a versioned change; the backfill; and bad input. Consent
 * and the do-not-sell flag at the points where the product sends: consent-sharing.test.ts.
 */
import type { CustomerSearchResult, PushResponse } from '@depotline/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testClock, type TestClock } from '../../test/factories';
import { backends } from '../../test/harness';
import { buildWorld, mutationId, rest, type World, type WorldUser } from '../../test/world';
import { presentStop } from '../sync/presenters';
import { phoneKey } from './blind-index';
import { reindexStops } from './reindex';

const window = { start: 1_800_000_000_000, end: 1_800_003_600_000 };
/** One UK mobile (Ofcom's range for drama), written three ways. */
const formats = ['+44 7700 900123', '07700 900123', '0044 7700-900-123'];

describe.each(backends)('customer privacy (%s)', (backend) => {
  let w: World;
  let clock: TestClock;

  async function push(user: WorldUser, mutation: Record<string, unknown>) {
    const m = { id: mutationId(), locationId: user.locationId, createdAt: clock.now(), ...mutation };
    const res = await rest(w, 'POST', '/sync/push', user.token, { mutations: [m] });
    return (res.body as unknown as PushResponse).results[0]!;
  }
  const createStop = (user: WorldUser, routeId: string, stopId: string, phone: string | null, email?: string) =>
    push(user, { type: 'stop.create', stopId, routeId, sequence: 9, customerName: 'Ann Lee', address: '1 High St', phone, notes: '', window, ...(email ? { email } : {}) });
  const search = async (customer: Record<string, string>, token = w.users.admin.token, locationIds?: string[]) =>
    rest(w, 'POST', '/privacy/customers/search', token, { customer, ...(locationIds ? { locationIds } : {}) });
  const found = (r: { body: Record<string, unknown> | null }) => (r.body as unknown as CustomerSearchResult).stops.map((s) => s.stopId).sort();

  beforeEach(async () => {
    w = await buildWorld(backend, 2);
    clock = testClock(Date.now());
    w.ctx.now = clock.now;
  }, 120_000);
  afterEach(async () => {
    await w?.dispose();
  });

  it('a phone written in three formats finds the customer, an email in any case too; only there, and the index holds no value', async () => {
    for (const [i, phone] of formats.entries()) expect(await createStop(w.users.dispatcher, w.routes.A1, `ann-${i}`, phone)).toMatchObject({ status: 'applied' });
    // Same customer at depot B (the admin holds only A), and by email only at A.
    expect(await createStop(w.dispatcherB, w.routes.B1, 'ann-b', formats[1]!)).toMatchObject({ status: 'applied' });
    expect(await createStop(w.users.dispatcher, w.routes.A2, 'ann-mail', null, 'Ann.Lee@Example.com')).toMatchObject({ status: 'applied' });
    // A stop corrected to her number later (stop.update) is found too.
    const seeded = w.stops.A1[0]!.id;
    expect(await push(w.users.dispatcher, { type: 'stop.update', stopId: seeded, changes: { phone: '+447700900123' } })).toMatchObject({ status: 'applied' });

    const expected = ['ann-0', 'ann-1', 'ann-2', seeded].sort();
    for (const phone of formats) {
      const r = await search({ phone });
      expect(r.status).toBe(200);
      expect(found(r)).toEqual(expected);
      expect((r.body as unknown as CustomerSearchResult).stops.every((s) => s.phone !== null && s.matched.includes('phone'))).toBe(true);
    }
    const byMail = await search({ email: 'ANN.LEE@EXAMPLE.COM' });
    expect(found(byMail)).toEqual(['ann-mail']);
    expect(found(await search({ phone: formats[0]!, email: 'ann.lee@example.com' }))).toEqual([...expected, 'ann-mail'].sort());
    // Someone else's number finds nothing of hers.
    expect(found(await search({ phone: '07700 900124' }))).toEqual([]);

    const rows = await w.ctx.db.selectFrom('stops').select(['id', 'phone_bidx', 'email_bidx', 'phone_enc']).execute();
    const hers = rows.filter((r) => expected.includes(r.id) || r.id === 'ann-b');
    expect(new Set(hers.map((r) => r.phone_bidx)).size).toBe(1);
    expect(hers[0]!.phone_bidx).toMatch(/^p[0-9a-f]{8}$/);
    expect(rows.find((r) => r.id === 'ann-mail')!.email_bidx).toMatch(/^e[0-9a-f]{8}$/);
    expect(JSON.stringify(rows)).not.toMatch(/7700\s?-?900|ann\.lee/i);
    // The search is audited without the phone or email.
    const audits = await w.ctx.db.selectFrom('audit_log').select(['details', 'outcome']).where('action', '=', 'privacy.search').execute();
    expect(audits.length).toBeGreaterThanOrEqual(5);
    expect(JSON.stringify(audits)).not.toMatch(/7700|ann\.lee/i);
  });

  it('bad input: an unreadable number, no permission, another depot or an unknown one: a clear answer, nothing stored', async () => {
    expect(await createStop(w.users.dispatcher, w.routes.A1, 'ann-0', formats[0]!)).toMatchObject({ status: 'applied' });
    const unreadable = await search({ phone: '1234' });
    expect(unreadable.status).toBe(400);
    expect(JSON.stringify(unreadable.body)).toMatch(/normalise/);
    expect((await search({})).status).toBe(400);
    // The phone goes in the body, never the URL: a GET with it is no endpoint.
    expect((await rest(w, 'GET', `/privacy/customers/search?phone=${encodeURIComponent(formats[0]!)}`, w.users.admin.token)).status).toBe(404);
    expect((await search({ phone: formats[0]! }, w.users.dispatcher.token)).status).toBe(403);
    expect((await search({ phone: formats[0]! }, w.users.admin.token, [w.B])).status).toBe(404);
    expect((await search({ phone: formats[0]! }, w.users.admin.token, ['nowhere'])).status).toBe(404);
    const denied = await w.ctx.db.selectFrom('audit_log').select(['location_id']).where('action', '=', 'privacy.search').where('outcome', '=', 'denied').execute();
    expect(denied.map((d) => d.location_id)).toContain(w.B);

    const consent = (token: string, locationId: string) => rest(w, 'POST', '/privacy/customers/consents', token, {
      customer: { phone: formats[1] }, locationId, purpose: 'trackingSms', granted: false, source: 'phone',
    });
    expect((await consent(w.users.admin.token, w.B)).status).toBe(404);
    expect((await consent(w.users.dispatcher.token, w.A)).status).toBe(404);
    expect((await rest(w, 'POST', '/privacy/customers/consents', w.users.admin.token, {
      customer: { phone: formats[1] }, locationId: w.A, purpose: 'trackingSms', granted: false, source: 'phone', givenAt: clock.now() + 86_400_000,
    })).status).toBe(400);
    expect((await rest(w, 'POST', '/privacy/customers/consents', w.users.admin.token, {
      customer: { phone: formats[1] }, locationId: w.A, purpose: 'marketing', granted: true, source: 'phone',
    })).status).toBe(400);
    expect(await w.ctx.db.selectFrom('customer_consents').select('id').execute()).toHaveLength(0);
    expect((await consent(w.users.admin.token, w.A)).status).toBe(201);
    const stored = await w.ctx.db.selectFrom('customer_consents').selectAll().execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ customer_key: phoneKey(w.ctx, formats[2]!), purpose: 'trackingSms', granted: 0, source: 'phone', recorded_by: w.users.admin.username });
  });

  it('rectification corrects every stop of the customer as a versioned change, audited without values', async () => {
    for (const [i, phone] of formats.entries()) expect(await createStop(w.users.dispatcher, w.routes.A1, `ann-${i}`, phone)).toMatchObject({ status: 'applied' });
    expect(await createStop(w.dispatcherB, w.routes.B1, 'ann-b', formats[1]!)).toMatchObject({ status: 'applied' });
    const before = await w.ctx.db.selectFrom('stops').select(['id', 'version']).where('id', 'like', 'ann-%').execute();

    const r = await rest(w, 'POST', '/privacy/customers/rectify', w.users.admin.token, {
      customer: { phone: formats[1] }, changes: { customerName: 'Ann Leigh', phone: '07700 900999', email: 'ann@leigh.example' },
    });
    expect(r.status).toBe(200);
    expect((r.body as { changed: string[] }).changed.sort()).toEqual(['ann-0', 'ann-1', 'ann-2']);
    expect(found(await search({ phone: formats[0]! }))).toEqual([]);
    expect(found(await search({ phone: '+447700900999' }))).toEqual(['ann-0', 'ann-1', 'ann-2']);
    expect(found(await search({ email: 'ANN@leigh.example' }))).toEqual(['ann-0', 'ann-1', 'ann-2']);

    const after = await w.ctx.db.selectFrom('stops').selectAll().where('id', 'like', 'ann-%').orderBy('id').execute();
    for (const row of after) {
      const was = before.find((b) => b.id === row.id)!;
      if (row.id === 'ann-b') {
        // The admin does not manage depot B: its stop is left as it was.
        expect(row.version).toBe(was.version);
        continue;
      }
      expect(row.version).toBeGreaterThan(was.version);
      expect(presentStop(w.ctx, row)).toMatchObject({ customerName: 'Ann Leigh', phone: '07700 900999', email: 'ann@leigh.example' });
      // Desktops pull it like any edit: the change log names the stop at its new version.
      expect(await w.ctx.db.selectFrom('changes').select('version').where('entity_id', '=', row.id).where('version', '=', row.version).executeTakeFirst()).toBeDefined();
    }
    const audit = await w.ctx.db.selectFrom('audit_log').select(['details', 'location_id']).where('action', '=', 'privacy.rectify').execute();
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.details)).toEqual({ fields: ['customerName', 'email', 'phone'], stops: 3 });
    expect(JSON.stringify(audit)).not.toMatch(/7700|Leigh|leigh/);
  });

  it('the backfill indexes stops written before the index, in batches, audited with counts', async () => {
    for (const [i, phone] of formats.entries()) expect(await createStop(w.users.dispatcher, w.routes.A1, `ann-${i}`, phone)).toMatchObject({ status: 'applied' });
    const indexed = await w.ctx.db.selectFrom('stops').select(['id', 'phone_bidx']).orderBy('id').execute();
    await w.ctx.db.updateTable('stops').set({ phone_bidx: null, email_bidx: null }).execute();
    expect(found(await search({ phone: formats[0]! }))).toEqual([]);

    const { stops } = await reindexStops(w.ctx, { all: false });
    expect(stops).toBe(indexed.length);
    expect(await w.ctx.db.selectFrom('stops').select(['id', 'phone_bidx']).orderBy('id').execute()).toEqual(indexed);
    expect(found(await search({ phone: formats[1]! }))).toEqual(['ann-0', 'ann-1', 'ann-2']);
    // Nothing left to do: a second run changes nothing and audits nothing more.
    expect((await reindexStops(w.ctx, { all: true })).stops).toBe(0);
    const audit = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'privacy.reindex').execute();
    expect(audit.map((a) => JSON.parse(a.details) as unknown)).toEqual([{ stops: indexed.length, all: false }]);
  });
});
