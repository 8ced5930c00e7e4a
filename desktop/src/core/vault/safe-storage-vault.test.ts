import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeychainEntryInvalidError, KeychainUnavailableError } from '../errors';
import { FakeSafeStorage } from '../testing/safe-storage';
import { makeTempDir, sha256File } from '../testing/temp-dir';
import { DatabaseKey } from './database-key';
import { SafeStorageVault } from './safe-storage-vault';

// Electron's safeStorage cannot run here (no Electron binary): FakeSafeStorage stands in for it.
describe('SafeStorageVault', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let os: FakeSafeStorage;
  let vault: SafeStorageVault;
  beforeEach(() => {
    tmp = makeTempDir();
    os = new FakeSafeStorage('gnome_libsecret');
    vault = new SafeStorageVault({ safeStorage: os, dir: tmp.dir, platform: 'linux' });
  });
  afterEach(() => tmp.remove());

  it('keeps each secret wrapped in a 0600 file beside the profile, never the key or token in the clear', async () => {
    await vault.probe();
    const key = DatabaseKey.generate();
    await vault.setKey('p1', 'current', key);
    await vault.setRefreshToken('p1', 'refresh-token-value-123');
    expect(fs.readdirSync(tmp.dir).sort()).toEqual(['p1.db-key.safestorage', 'p1.refresh-token.safestorage']);
    for (const f of fs.readdirSync(tmp.dir)) {
      const text = fs.readFileSync(path.join(tmp.dir, f), 'utf8');
      expect(text).not.toContain(key.toHexForKeychain());
      expect(text).not.toContain('refresh-token-value-123');
      expect(JSON.parse(text)).toMatchObject({ v: 1, backend: 'gnome_libsecret' });
      expect(fs.statSync(path.join(tmp.dir, f)).mode & 0o777).toBe(0o600);
    }
    expect((await vault.getKey('p1', 'current'))!.equals(key)).toBe(true);
    expect(await vault.getKey('p1', 'next')).toBeNull();
    expect(await vault.getRefreshToken('p1')).toBe('refresh-token-value-123');
    expect(await vault.deleteKey('p1', 'current')).toBe(true);
    expect(await vault.deleteKey('p1', 'current')).toBe(false);
    expect(await vault.getKey('p1', 'current')).toBeNull();
  });

  it('refuses Linux\'s basic_text backend (a password built into the app) and writes nothing', async () => {
    os.backend = 'basic_text';
    expect(vault.unusableReason()).toMatch(/basic_text/);
    await expect(vault.probe()).rejects.toThrow(KeychainUnavailableError);
    await expect(vault.probe()).rejects.toThrow(/basic_text/);
    await expect(vault.setKey('p1', 'current', DatabaseKey.generate())).rejects.toBeInstanceOf(KeychainUnavailableError);
    expect(fs.readdirSync(tmp.dir)).toEqual([]);
    expect(os.encryptCalls).toBe(0);
  });

  it('refuses a backend it cannot vouch for (asked before ready) and a safeStorage without encryption', async () => {
    os.backend = 'unknown';
    await expect(vault.probe()).rejects.toBeInstanceOf(KeychainUnavailableError);
    const win = new SafeStorageVault({ safeStorage: os, dir: tmp.dir, platform: 'win32' });
    await win.probe(); // no Linux backend question on Windows: DPAPI
    expect(win.backend).toBe('safeStorage (DPAPI)');
    os.available = false;
    await expect(win.probe()).rejects.toThrow(/not available/);
  });

  it('a secret wrapped under one Linux backend is not read under another: the error names the switch, the file stays', async () => {
    await vault.setKey('p1', 'current', DatabaseKey.generate());
    const file = path.join(tmp.dir, 'p1.db-key.safestorage');
    const before = sha256File(file);
    os.backend = 'kwallet5'; // the user logged in to KDE instead of GNOME
    const err = await vault.getKey('p1', 'current').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeychainUnavailableError);
    expect((err as Error).message).toMatch(/gnome_libsecret.*kwallet5.*--password-store=gnome-libsecret/s);
    expect(sha256File(file)).toBe(before);
  });

  it('a keychain that lost its wrapping key gives KeychainUnavailableError and keeps the file', async () => {
    await vault.setKey('p1', 'current', DatabaseKey.generate());
    const reset = new SafeStorageVault({ safeStorage: new FakeSafeStorage('gnome_libsecret'), dir: tmp.dir, platform: 'linux' });
    await expect(reset.getKey('p1', 'current')).rejects.toThrow(KeychainUnavailableError);
    await expect(reset.getKey('p1', 'current')).rejects.toThrow(/Nothing was deleted/);
    expect(fs.existsSync(path.join(tmp.dir, 'p1.db-key.safestorage'))).toBe(true);
  });

  it('refuses a file that is not a wrapped Depotline key, and a wrapped value that is not a key', async () => {
    fs.writeFileSync(path.join(tmp.dir, 'p1.db-key.safestorage'), 'hunter2');
    await expect(vault.getKey('p1', 'current')).rejects.toBeInstanceOf(KeychainEntryInvalidError);
    await vault.setRefreshToken('p2', 'x');
    fs.renameSync(path.join(tmp.dir, 'p2.refresh-token.safestorage'), path.join(tmp.dir, 'p2.db-key.safestorage'));
    await expect(vault.getKey('p2', 'current')).rejects.toBeInstanceOf(KeychainEntryInvalidError);
  });

  it('a write the OS cannot give back fails, and profile ids cannot reach outside the directory', async () => {
    os.failDecrypt = true;
    await expect(vault.setKey('p1', 'current', DatabaseKey.generate())).rejects.toBeInstanceOf(KeychainUnavailableError);
    await expect(vault.getKey('../etc', 'current')).rejects.toThrow(TypeError);
  });
});
