/**
 * The managed policy's `offlineDays` through the ConsoleService: a real sync-server that goes
 * away and comes back, the real keychain and a real SQLCipher profile, and the console's clock.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireTestKeyring } from '../../src/core/testing/keyring';
import { RestartableServer } from '../../src/core/sync/integration/restartable-server';
import { buildLocation, buildUser, waitFor } from '../../src/core/sync/integration/sync-fixture';
import type { ConsoleService } from '../../src/main/service/console-service';
import { newInstallation, newService, type Installation } from '../support/console-fixture';

const day = 86_400_000;

describe('the offline-days lock in the console', () => {
  beforeAll(requireTestKeyring);
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('a laptop offline longer than the policy allows shows why its data is locked; an online sign-in unlocks it', async () => {
    const server = await RestartableServer.start();
    cleanup.push(() => server.dispose());
    const X = (await buildLocation(server.ctx)).id;
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [X] });
    const i: Installation = newInstallation();
    cleanup.push(() => i.dispose());
    let offset = 0;
    const open = (): ConsoleService => {
      const service = newService(i, server.url, { offlineDays: 3, now: () => Date.now() + offset });
      cleanup.push(() => service.dispose());
      return service;
    };
    const credentials = { username: user.username, password: user.password };

    // Day 0, online: the depot syncs.
    const first = open();
    expect((await first.signIn(credentials)).screen).toBe('console');
    await waitFor(async () => (await first.data.listLocations()).length === 1, 'the depot to arrive');
    await first.dispose();
    await server.stop();

    // Day 2, offline: the password unlocks the kept session as before.
    offset = 2 * day;
    const second = open();
    expect((await second.signIn(credentials)).screen).toBe('console');
    expect((await second.data.listLocations()).map((l) => l.id)).toEqual([X]);
    await second.dispose();

    // Day 4, still offline: the data is locked, and the console says why and what to do.
    offset = 4 * day;
    const third = open();
    const locked = await third.signIn(credentials);
    expect(locked).toMatchObject({ screen: 'error', problem: 'offline_locked', canStartOver: false });
    expect(locked.screen === 'error' && locked.message).toMatch(/has not reached the Depotline server for more than 3 days.*Connect to the network and sign in/);
    await expect(third.data.listLocations()).rejects.toMatchObject({ code: 'not_signed_in' });
    expect(i.profileIds()).toHaveLength(1); // locked, not deleted
    await third.dispose();

    // Back online: the server accepts the sign-in and the data is there again.
    await server.resume();
    const fourth = open();
    expect((await fourth.signIn(credentials)).screen).toBe('console');
    expect((await fourth.data.listLocations()).map((l) => l.id)).toEqual([X]);
    await fourth.dispose();

    // Offline once more the next day: unlocked offline again, the count started over.
    await server.stop();
    offset = 5 * day;
    const fifth = open();
    expect((await fifth.signIn(credentials)).screen).toBe('console');
  });
});
