import fs from 'node:fs';
import path from 'node:path';
import keytar from 'keytar';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KeychainUnavailableError } from '../errors';
import { openProfileStore, wipeProfile } from '../profile/profile-store';
import { requireTestKeyring, testProfileId } from '../testing/keyring';
import { FakeSafeStorage } from '../testing/safe-storage';
import { makeTempDir, sha256File } from '../testing/temp-dir';
import { DatabaseKey } from './database-key';
import { KeytarVault } from './keytar-vault';
import type { VaultMove } from './moving-vault';
import { SafeStorageVault } from './safe-storage-vault';
import { selectKeyVault } from './vault-selection';

// Electron's safeStorage cannot run here (no Electron binary): FakeSafeStorage stands in for it.
// keytar is the real one, on the test run's gnome-keyring.
describe('moving a profile between keytar and safeStorage', () => {
  beforeAll(requireTestKeyring);
  let tmp: ReturnType<typeof makeTempDir>;
  let service: string;
  let keytarVault: KeytarVault;
  let profileId: string;
  let dbPath: string;
  let moves: VaultMove[];
  const select = (safeStorage: FakeSafeStorage | null) =>
    selectKeyVault({ safeStorage, dir: tmp.dir, platform: 'linux', keytar: { service }, onMove: (m) => moves.push(m) });

  beforeEach(() => {
    tmp = makeTempDir();
    service = `Depotline-test-${path.basename(tmp.dir)}`;
    keytarVault = new KeytarVault({ service });
    profileId = testProfileId();
    dbPath = path.join(tmp.dir, `${profileId}.db`);
    moves = [];
  });
  afterEach(async () => {
    for (const c of await keytar.findCredentials(service)) await keytar.deletePassword(service, c.account);
    tmp.remove();
  });

  async function profileOnKeytar() {
    const store = await openProfileStore({ profileId, dbPath, vault: keytarVault });
    await store.close();
    await keytarVault.setRefreshToken(profileId, 'refresh-abc');
    return (await keytarVault.getKey(profileId, 'current'))!;
  }

  it('chooses safeStorage with a secret store, keytar with basic_text or without Electron', () => {
    expect(select(new FakeSafeStorage('gnome_libsecret'))).toMatchObject({ kind: 'safeStorage', fallbackReason: null });
    expect(select(new FakeSafeStorage('kwallet6'))).toMatchObject({ kind: 'safeStorage' });
    const basic = select(new FakeSafeStorage('basic_text'));
    expect(basic.kind).toBe('keytar');
    expect(basic.fallbackReason).toMatch(/basic_text/);
    expect(select(null)).toMatchObject({ kind: 'keytar' });
  });

  it('a keytar profile opens through safeStorage, and its secrets move only once safeStorage gave them back', async () => {
    const key = await profileOnKeytar();
    const { vault } = select(new FakeSafeStorage('gnome_libsecret'));
    const store = await openProfileStore({ profileId, dbPath, vault });
    await store.close();
    expect(await vault.getRefreshToken(profileId)).toBe('refresh-abc');

    expect(moves).toEqual([
      { profileId, entry: 'db-key:current', outcome: 'moved' },
      { profileId, entry: 'refresh-token', outcome: 'moved' },
    ]);
    expect(await keytar.findCredentials(service)).toEqual([]);
    expect(fs.existsSync(path.join(tmp.dir, `${profileId}.db-key.safestorage`))).toBe(true);
    expect((await vault.getKey(profileId, 'current'))!.equals(key)).toBe(true);
    // And again from a fresh start: the key is safeStorage's now.
    const again = await openProfileStore({ profileId, dbPath, vault });
    await again.close();
  });

  it('a move that cannot be proven leaves keytar\'s entry and nothing in safeStorage, and the profile still opens', async () => {
    const key = await profileOnKeytar();
    const os = new FakeSafeStorage('gnome_libsecret');
    os.failDecrypt = true; // encrypts, but cannot give the secret back
    const { vault } = select(os);
    expect((await vault.getKey(profileId, 'current'))!.equals(key)).toBe(true);
    expect(moves.map(({ reason: _reason, ...m }) => m)).toEqual([{ profileId, entry: 'db-key:current', outcome: 'failed' }]);
    expect(moves[0]!.reason).toMatch(/could not decrypt/);
    expect((await keytarVault.getKey(profileId, 'current'))!.equals(key)).toBe(true);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.includes('safestorage'))).toEqual([]);
    // Opening the store needs a probe that works; this safeStorage's does not, so the keytar
    // copy is what the user keeps until it does. The file was never touched.
    const before = sha256File(dbPath);
    await expect(openProfileStore({ profileId, dbPath, vault })).rejects.toBeInstanceOf(KeychainUnavailableError);
    expect(sha256File(dbPath)).toBe(before);
    expect(await keytarVault.getKey(profileId, 'current')).not.toBeNull();
  });

  it('a crash between the copy and the delete is finished at the next read, only when both copies match', async () => {
    const key = await profileOnKeytar();
    const os = new FakeSafeStorage('gnome_libsecret');
    const { vault } = select(os);
    // The copy landed, the delete did not.
    const safe = new SafeStorageVault({ safeStorage: os, dir: tmp.dir, platform: 'linux' });
    await safe.setKey(profileId, 'current', key);
    expect((await vault.getKey(profileId, 'current'))!.equals(key)).toBe(true);
    expect(await keytarVault.getKey(profileId, 'current')).toBeNull();

    // Two different keys: neither copy is deleted; the vault being moved to answers.
    const other = DatabaseKey.generate();
    await keytarVault.setKey(profileId, 'next', other);
    await safe.setKey(profileId, 'next', DatabaseKey.generate());
    await vault.getKey(profileId, 'next');
    expect((await keytarVault.getKey(profileId, 'next'))!.equals(other)).toBe(true);
  });

  it('a profile whose keys safeStorage holds, opened where safeStorage falls back to basic_text, is refused, not recreated', async () => {
    const os = new FakeSafeStorage('gnome_libsecret');
    const first = await openProfileStore({ profileId, dbPath, vault: select(os).vault });
    await first.close();
    const before = sha256File(dbPath);

    os.backend = 'basic_text'; // the same machine, a session without a secret store
    const fallback = select(os);
    expect(fallback.kind).toBe('keytar');
    const err = await openProfileStore({ profileId, dbPath, vault: fallback.vault }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeychainUnavailableError);
    expect((err as Error).message).toMatch(/gnome_libsecret/);
    expect(sha256File(dbPath)).toBe(before);
    expect(await keytar.findCredentials(service)).toEqual([]);
  });

  it('a wipe removes the secrets from both vaults', async () => {
    await profileOnKeytar();
    const os = new FakeSafeStorage('gnome_libsecret');
    const { vault } = select(os);
    await vault.getKey(profileId, 'current'); // moved to safeStorage
    await keytarVault.setKey(profileId, 'next', DatabaseKey.generate()); // and something left in keytar
    const report = await wipeProfile({ profileId, dbPath, vault, sessionSecrets: vault });
    expect(report.failures).toEqual([]);
    expect(await keytar.findCredentials(service)).toEqual([]);
    expect(fs.readdirSync(tmp.dir)).toEqual([]);
  });
});
