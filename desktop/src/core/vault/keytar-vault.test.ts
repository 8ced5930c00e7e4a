import { inspect } from 'node:util';
import keytar from 'keytar';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KeychainEntryInvalidError, KeychainUnavailableError } from '../errors';
import { requireTestKeyring, testProfileId, testVault } from '../testing/keyring';
import { DatabaseKey } from './database-key';
import { classifyKeychainFailure, KeytarVault } from './keytar-vault';

describe('KeytarVault on the real keychain', () => {
  beforeAll(requireTestKeyring);
  const { vault, service } = testVault();
  const profileId = testProfileId();
  afterEach(async () => {
    await vault.deleteKey(profileId, 'current');
    await vault.deleteKey(profileId, 'next');
  });

  it('probes the keychain with a write, read and delete that leave nothing behind', async () => {
    await vault.probe();
    expect(await keytar.findCredentials(service)).toEqual([]);
  });

  it('keeps one entry per profile and slot, as 64 hex digits under service/account', async () => {
    const key = DatabaseKey.generate();
    await vault.setKey(profileId, 'current', key);
    expect(await keytar.getPassword(service, `db-key:${profileId}`)).toMatch(/^[0-9a-f]{64}$/);
    expect((await vault.getKey(profileId, 'current'))!.equals(key)).toBe(true);
    expect(await vault.getKey(profileId, 'next')).toBeNull();
    expect(await vault.deleteKey(profileId, 'current')).toBe(true);
    expect(await vault.getKey(profileId, 'current')).toBeNull();
  });

  it('uses the service name Depotline by default', () => {
    expect(new KeytarVault().backend).toMatch(/^keytar \(/);
  });

  it('refuses an entry that is not a Depotline key', async () => {
    await keytar.setPassword(service, `db-key:${profileId}`, 'hunter2');
    await expect(vault.getKey(profileId, 'current')).rejects.toBeInstanceOf(KeychainEntryInvalidError);
  });

  it('refuses profile ids that could smuggle text into an account name or a path', async () => {
    await expect(vault.getKey('../etc', 'current')).rejects.toThrow(TypeError);
  });
});

describe('DatabaseKey never shows itself', () => {
  it('prints a placeholder through every text conversion', () => {
    const key = DatabaseKey.generate();
    const hex = key.toHexForKeychain();
    for (const text of [String(key), `${key.toString()}`, JSON.stringify({ key }), inspect(key), inspect({ nested: { key } })]) {
      expect(text).not.toContain(hex);
      expect(text).toContain('[DatabaseKey]');
    }
    expect(key.toSqlLiteral()).toBe(`"x'${hex}'"`);
  });

  it('generates distinct 256-bit keys and can be wiped', () => {
    const a = DatabaseKey.generate();
    const b = DatabaseKey.generate();
    expect(a.equals(b)).toBe(false);
    expect(a.copyBytes()).toHaveLength(32);
    a.wipe();
    expect(a.copyBytes().equals(Buffer.alloc(32))).toBe(true);
    expect(DatabaseKey.fromHex('ABC')).toBeNull();
  });
});

describe('keychain failures become KeychainUnavailableError', () => {
  it('classifies the messages libsecret and D-Bus give', () => {
    expect(classifyKeychainFailure('Cannot autolaunch D-Bus without X11 $DISPLAY')).toBe('no_secret_service');
    expect(classifyKeychainFailure('Could not connect: No such file or directory')).toBe('no_secret_service');
    expect(classifyKeychainFailure('The name org.freedesktop.secrets was not provided by any .service files')).toBe('no_secret_service');
    expect(classifyKeychainFailure('Cannot create an item in a locked collection')).toBe('locked');
    expect(classifyKeychainFailure('Access denied')).toBe('access_denied');
  });

  it('a backend that throws or hangs gives a typed, actionable error without key material', async () => {
    const key = DatabaseKey.generate();
    const failing = new KeytarVault({
      service: 'x',
      keytar: {
        getPassword: () => Promise.reject(new Error('Cannot create an item in a locked collection')),
        setPassword: () => Promise.reject(new Error('Cannot create an item in a locked collection')),
        deletePassword: () => Promise.reject(new Error('Cannot create an item in a locked collection')),
      },
    });
    const err = await failing.setKey('p1', 'current', key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeychainUnavailableError);
    expect(err).toMatchObject({ name: 'KeychainUnavailableError', failure: 'locked' });
    expect((err as Error).message).toMatch(/unlock/i);
    expect((err as Error).message).not.toContain(key.toHexForKeychain());

    const hanging = new KeytarVault({
      service: 'x',
      timeoutMs: 50,
      keytar: { getPassword: () => new Promise(() => {}), setPassword: () => new Promise(() => {}), deletePassword: () => new Promise(() => {}) },
    });
    await expect(hanging.probe()).rejects.toMatchObject({ name: 'KeychainUnavailableError', failure: 'timeout' });
  });
});
