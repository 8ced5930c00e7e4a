import type { LocationRetention } from '@depotline/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildLocationAccess, buildRoute, buildStop, routeChange, stopChange } from '../testing/fixtures';
import { createTestStore } from '../testing/store';
import { makeTempDir } from '../testing/temp-dir';
import type { EncryptedStore } from '../store/encrypted-store';
import { RetentionSweeper } from './local-retention';

const day = 86_400_000;
const retention: LocationRetention = { contactDays: 90, deliveryDays: 730, proofDays: 180, trackingLinkDays: 30, positionHistoryDays: 30 };

/** The sweep runs on its own while the client is started, with no server anywhere. */
describe('retention sweeper', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: EncryptedStore;
  let sweeper: RetentionSweeper | null = null;

  beforeEach(async () => {
    tmp = makeTempDir();
    ({ store } = await createTestStore(tmp.dir));
  });
  afterEach(async () => {
    sweeper?.stop();
    await store.close();
    tmp.remove();
  });

  it('sweeps at start and again on its timer as the clock passes a stop\'s contact period', async () => {
    const loc = { ...buildLocationAccess(), retention };
    const L = loc.location.id;
    await store.replaceLocations([loc]);
    let now = Date.UTC(2026, 10, 30);
    const route = buildRoute(L);
    const expired = buildStop(L, route.id, { window: { start: now - 91 * day, end: now - 91 * day + 3_600_000 } });
    const soon = buildStop(L, route.id, { sequence: 1, window: { start: now - 90 * day, end: now - 90 * day + 3_600_000 } });
    await store.applyChanges([routeChange(route), stopChange(expired), stopChange(soon)]);
    const warnings: string[] = [];
    sweeper = new RetentionSweeper({ store, now: () => now, log: { warn: (m) => warnings.push(m) }, intervalMs: 50 });

    sweeper.start();
    await expect.poll(async () => (await store.stop(expired.id))?.pseudonymised, { timeout: 10_000 }).toBe(true);
    expect((await store.stop(soon.id))?.pseudonymised).toBeUndefined();
    now += 2 * 3_600_000;
    await expect.poll(async () => (await store.stop(soon.id))?.pseudonymised, { timeout: 10_000 }).toBe(true);
    expect(warnings).toEqual([]);
    // A closed store ends its runs quietly.
    sweeper.stop();
    await store.close();
    await sweeper.run();
    expect(warnings).toEqual([]);
  });
});
