import crypto from 'node:crypto';
import keytar from 'keytar';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEnrollmentTokens, revokeEnrolledDevice } from '../../../../../sync-server/src/devices/enrollment';
import type { TestServer } from '../../../../../sync-server/test/harness';
import { ServerRequestError } from '../../errors';
import { requireTestKeyring } from '../../testing/keyring';
import { makeTempDir } from '../../testing/temp-dir';
import { KeytarDeviceKeyStore } from '../../vault/device-key-store';
import { DeviceEnrollment } from '../device-enrollment';
import type { SessionEndedEvent } from '../sync-events';
import { buildLocation, buildUser, openCore, startServer, waitFor, type Core } from './sync-fixture';

const operator = { userId: null, label: 'test', deviceId: null, ip: null };

/**
 * The console's side of device enrollment against a real server that requires enrolled
 * devices, with the device key in the real keychain (the test gnome-keyring): enroll with a
 * token, sign in with the device's signature, be refused without it, and be wiped when the
 * device is revoked.
 */
describe('device enrollment: the console side', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let tmp: ReturnType<typeof makeTempDir>;
  let depot: string;
  const service = `Depotline-test-${crypto.randomBytes(6).toString('hex')}`;
  const cores: Core[] = [];

  beforeAll(async () => {
    server = await startServer({ requireEnrolledDevices: true });
    depot = (await buildLocation(server.ctx)).id;
  });
  afterAll(async () => {
    await server.dispose();
    for (const c of await keytar.findCredentials(service)) await keytar.deletePassword(service, c.account);
  });
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(async () => {
    for (const c of cores.splice(0)) await c.dispose();
    tmp.remove();
  });

  const newToken = async () => (await createEnrollmentTokens(server.ctx, operator, { locationIds: [depot], expiresAt: server.ctx.now() + 3_600_000, count: 1 }))[0]!.token;

  it('enrolls with a token (the private key only in the keychain), signs in with its signature, and is wiped when revoked', async () => {
    const keys = new KeytarDeviceKeyStore({ service });
    const enrollment = new DeviceEnrollment(new URL(server.url), keys);
    expect(await enrollment.isEnrolled()).toBe(false);
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [depot] });

    // Not enrolled: the server refuses the sign-in, whatever the password.
    const refused = await openCore(server.url, tmp.dir, user, { signIn: false, client: { deviceProof: enrollment.prove } });
    cores.push(refused);
    const err = await refused.client.signIn({ username: user.username, password: user.password }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerRequestError);
    expect((err as ServerRequestError).code).toBe('forbidden');

    const enrolled = await enrollment.enroll(await newToken(), { name: 'Desk 4', platform: process.platform });
    expect(enrolled).toMatchObject({ name: 'Desk 4', locationIds: [depot], revokedAt: null });
    // The keychain holds the private key; the server holds only the public half.
    const entry = await keytar.getPassword(service, `enrolled-device:${new URL(server.url).origin}`);
    expect(JSON.parse(entry!)).toMatchObject({ v: 1, id: enrolled!.id });
    const row = await server.ctx.db.selectFrom('enrolled_devices').selectAll().where('id', '=', enrolled!.id).executeTakeFirstOrThrow();
    expect(crypto.createPublicKey({ key: Buffer.from(row.public_key, 'base64url'), format: 'der', type: 'spki' }).asymmetricKeyType).toBe('ed25519');
    // Enrolling again keeps the identity and spends no token.
    expect(await enrollment.enroll(await newToken(), { name: 'Desk 4' })).toBeNull();

    const core = await openCore(server.url, tmp.dir, user, { client: { deviceProof: new DeviceEnrollment(new URL(server.url), new KeytarDeviceKeyStore({ service })).prove } });
    cores.push(core);
    await core.client.start();
    await waitFor(() => core.client.status.connection === 'live', 'the core to go live');
    const ended: SessionEndedEvent[] = [];
    core.client.on('sessionEnded', (e) => ended.push(e));

    await revokeEnrolledDevice(server.ctx, operator, enrolled!.id);
    await waitFor(() => ended.length === 1, 'session:ended');
    expect(ended[0]).toMatchObject({ wipe: true });
    expect(await core.vault.getKey(core.profileId, 'current')).toBeNull();

    // Revoked: the signature no longer opens a session.
    const again = await openCore(server.url, tmp.dir, user, { signIn: false, client: { deviceProof: enrollment.prove } });
    cores.push(again);
    expect(await again.client.signIn({ username: user.username, password: user.password }).catch((e: unknown) => (e as ServerRequestError).code)).toBe('forbidden');
    expect(await enrollment.forget()).toBe(true);
  });
});
