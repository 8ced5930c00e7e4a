/**
 * Device enrollment through the ConsoleService, as the managed policy sets it up
 * (`requireEnrolledDevices`, `enrollmentToken`): a real sync-server requiring enrolled devices
 * (DEPOTLINE_REQUIRE_ENROLLED_DEVICES), the real keychain for the device key and the profile,
 * a real SQLCipher profile.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEnrollmentTokens, revokeEnrolledDevice } from '../../../sync-server/src/devices/enrollment';
import { KeytarDeviceKeyStore } from '../../src/core';
import { requireTestKeyring } from '../../src/core/testing/keyring';
import { buildLocation, buildUser, startServer, waitFor } from '../../src/core/sync/integration/sync-fixture';
import type { ConsoleService } from '../../src/main/service/console-service';
import { newInstallation, newService } from '../support/console-fixture';

const operator = { userId: null, label: 'test', deviceId: null, ip: null };

describe('device enrollment in the console', () => {
  beforeAll(requireTestKeyring);
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('an unenrolled console is refused by the server; with the policy token it enrolls, signs in, and is wiped when revoked', async () => {
    const server = await startServer({ requireEnrolledDevices: true });
    cleanup.push(() => server.dispose());
    const X = (await buildLocation(server.ctx)).id;
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [X] });
    const i = newInstallation();
    cleanup.push(() => i.dispose());
    const credentials = { username: user.username, password: user.password };
    const open = (options: { enrollmentToken?: string }): ConsoleService => {
      const service = newService(i, server.url, { requireEnrolledDevices: true, deviceKeys: new KeytarDeviceKeyStore({ service: i.service }), deviceName: 'Desk 7', ...options });
      cleanup.push(() => service.dispose());
      return service;
    };

    // No token in the policy: the sign-in goes unsigned and the server refuses it.
    const refused = await open({}).signIn(credentials).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'device_not_enrolled', message: expect.stringMatching(/not an enrolled device/) as unknown });
    expect(await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toEqual([]);

    const [issued] = await createEnrollmentTokens(server.ctx, operator, { locationIds: [X], expiresAt: Date.now() + 3_600_000, count: 1 });
    const console1 = open({ enrollmentToken: issued!.token });
    expect((await console1.signIn(credentials)).screen).toBe('console');
    const [device] = await server.ctx.db.selectFrom('enrolled_devices').selectAll().execute();
    expect(device).toMatchObject({ name: 'Desk 7', location_ids: JSON.stringify([X]), revoked_at: null });

    // Revoked by IT: the open console is told to wipe, and its data goes.
    await revokeEnrolledDevice(server.ctx, operator, device!.id);
    await waitFor(async () => (await console1.getState()).screen === 'wiped', 'the console to be wiped');
    expect(i.profileIds()).toEqual([]);

    // The token is spent and the device revoked: no way back in.
    const again = await open({ enrollmentToken: issued!.token }).signIn(credentials).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/not an enrolled device/) as unknown });
  });
});
