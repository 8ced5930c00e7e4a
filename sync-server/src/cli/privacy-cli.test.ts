/**
 * `depotline-admin privacy search|consent|sharing|reindex` on SQLite and PostgreSQL: the customer
 * comes on stdin (never in the arguments), found by a phone in another format; the reindex fills
 * an index that was missing.
 */
import type { CustomerSearchResult } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import { insertLocation, insertRoute, insertStops, type SeededStop } from '../../test/world';
import type { ServerContext } from '../context';

const cliTimeout = 180_000;

describe.each(backends)('depotline-admin privacy (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  let stops: SeededStop[];

  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    await insertLocation(ctx, 'depot-a');
    await insertRoute(ctx, 'depot-a', 'route-a', null);
    stops = await insertStops(ctx, 'depot-a', 'route-a', 2);
  }, cliTimeout);
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  it('search by a phone in another format, consent and sharing from stdin, reindex; bad input exits 1 with nothing stored', async () => {
    const stop = stops[0]!;
    // The seeded number (+49 30 ...) as a German caller would write it: 0049 and no spaces.
    const written = `0049${stop.phone.replace(/^\+49/, '').replace(/\s/g, '')}`;
    const found = await runAdminJson<CustomerSearchResult>(env, ['privacy', 'search'], { stdin: JSON.stringify({ phone: written }) });
    expect(found.code).toBe(0);
    expect(found.json.stops.map((s) => s.stopId)).toEqual([stop.id]);
    expect((await runAdmin(env, ['privacy', 'search'], { stdin: JSON.stringify({ phone: written }) })).stdout).toContain(stop.id);

    const consent = await runAdminJson(env, ['privacy', 'consent', '--location', 'depot-a', '--purpose', 'trackingSms', '--withdrawn', '--source', 'paper'], {
      stdin: JSON.stringify({ phone: stop.phone }),
    });
    expect(consent.code).toBe(0);
    const sharing = await runAdminJson(env, ['privacy', 'sharing', '--location', 'depot-a', '--do-not-sell'], { stdin: JSON.stringify({ phone: stop.phone }) });
    expect(sharing.code).toBe(0);
    const again = await runAdminJson<CustomerSearchResult>(env, ['privacy', 'search'], { stdin: JSON.stringify({ phone: stop.phone }) });
    expect(again.json.consents).toEqual([expect.objectContaining({ purpose: 'trackingSms', granted: false, source: 'paper', matched: 'phone' })]);
    expect(again.json.sharing).toEqual([expect.objectContaining({ locationId: 'depot-a', doNotSell: true })]);

    const bad = await runAdmin(env, ['privacy', 'consent', '--location', 'depot-a', '--purpose', 'trackingSms', '--source', 'paper'], { stdin: JSON.stringify({ phone: '1234' }) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/normalise/);
    expect(await ctx.db.selectFrom('customer_consents').select('id').execute()).toHaveLength(1);

    await ctx.db.updateTable('stops').set({ phone_bidx: null }).execute();
    const reindexed = await runAdminJson<{ stops: number }>(env, ['privacy', 'reindex']);
    expect(reindexed.json.stops).toBe(2);
    expect((await runAdminJson<CustomerSearchResult>(env, ['privacy', 'search'], { stdin: JSON.stringify({ phone: written }) })).json.stops).toHaveLength(1);
    const audit = await ctx.db.selectFrom('audit_log').select(['action', 'actor', 'details']).where('action', 'like', 'privacy.%').orderBy('seq').execute();
    expect(audit.map((a) => a.action)).toEqual(['privacy.search', 'privacy.search', 'privacy.consent', 'privacy.sharing', 'privacy.search', 'privacy.reindex', 'privacy.search']);
    expect(JSON.stringify(audit)).not.toContain(stop.phone.slice(-5));
  }, cliTimeout);
});
