/**
 * Device enrollment with a token typed in at sign-in (no `enrollmentToken` in the policy): a
 * real sync-server requiring enrolled devices (DEPOTLINE_REQUIRE_ENROLLED_DEVICES), the real
 * keychain for the device key and the profile, a real SQLCipher profile.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bridgeCalls } from '@depotline/shared';
import { createEnrollmentTokens } from '../../../sync-server/src/devices/enrollment';
import { KeytarDeviceKeyStore } from '../../src/core';
import { requireTestKeyring } from '../../src/core/testing/keyring';
import { buildLocation, buildUser, startServer } from '../../src/core/sync/integration/sync-fixture';
import { newInstallation, newService } from '../support/console-fixture';

const operator = { userId: null, label: 'test', deviceId: null, ip: null };

describe('device enrollment with a typed-in token', () => {
  beforeAll(requireTestKeyring);
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('the refusal asks for a token; a bad one is refused in the server\'s words and nothing is kept; a good one enrolls and signs in', async () => {
    const server = await startServer({ requireEnrolledDevices: true });
    cleanup.push(() => server.dispose());
    const X = (await buildLocation(server.ctx)).id;
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [X] });
    const credentials = { username: user.username, password: user.password };
    const origin = new URL(server.url).origin;
    const install = () => {
      const i = newInstallation();
      cleanup.push(() => i.dispose());
      const keys = new KeytarDeviceKeyStore({ service: i.service });
      const service = newService(i, server.url, { requireEnrolledDevices: true, deviceKeys: keys, deviceName: 'Desk 9' });
      cleanup.push(() => service.dispose());
      return { i, keys, service };
    };
    const nothingKept = async (desk: ReturnType<typeof install>) => {
      expect(await desk.keys.get(origin)).toBeNull();
      expect(desk.i.profileIds()).toEqual([]);
      expect(await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
    };
    const desk = install();

    // Unenrolled and no policy token: the server's refusal, with the way on.
    const refused = await desk.service.signIn(credentials).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'device_not_enrolled', message: expect.stringMatching(/not an enrolled device.*type the enrollment token/s) as unknown });
    expect((await desk.service.getState()).screen).toBe('sign_in');

    // The bridge takes only a token's shape; an unknown one is the server's to refuse.
    expect(bridgeCalls.signIn.args.safeParse({ ...credentials, enrollmentToken: 'not-a-token' }).success).toBe(false);
    const unknown = `dle_${'A'.repeat(43)}`;
    const bad = await desk.service.signIn({ ...credentials, enrollmentToken: unknown }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'device_not_enrolled', message: expect.stringMatching(/enrollment token is not valid: it is unknown, already used or expired/) as unknown });
    await nothingKept(desk);
    expect(await server.ctx.db.selectFrom('enrolled_devices').select('id').execute()).toEqual([]);

    // The token IT handed out: enrolled, then signed in.
    const [issued] = await createEnrollmentTokens(server.ctx, operator, { locationIds: [X], expiresAt: Date.now() + 3_600_000, count: 1 });
    expect((await desk.service.signIn({ ...credentials, enrollmentToken: issued!.token })).screen).toBe('console');
    const devices = await server.ctx.db.selectFrom('enrolled_devices').selectAll().execute();
    expect(devices).toEqual([expect.objectContaining({ name: 'Desk 9', location_ids: JSON.stringify([X]), revoked_at: null })]);
    expect(await desk.keys.get(origin)).toMatchObject({ enrolledDeviceId: devices[0]!.id });

    // Spent: another computer typing it is refused, and keeps nothing.
    await desk.service.signOut();
    const other = install();
    const used = await other.service.signIn({ ...credentials, enrollmentToken: issued!.token }).catch((e: unknown) => e);
    expect(used).toMatchObject({ code: 'device_not_enrolled', message: expect.stringMatching(/already used/) as unknown });
    expect(await other.keys.get(origin)).toBeNull();
    expect(other.i.profileIds()).toEqual([]);
    expect(await server.ctx.db.selectFrom('enrolled_devices').select('id').execute()).toHaveLength(1);
  });
});
