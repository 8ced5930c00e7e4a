import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import keytar from 'keytar';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseCorruptError, DatabaseKeyMismatchError, DatabaseKeyMissingError } from '../errors';
import { openEncryptedDatabase } from '../store/encrypted-database';
import { sqlcipherBinding } from '../store/sqlcipher-binding';
import { buildLocationAccess, buildRoute, buildStop, editNotes, piiOf, routeChange, stopChange } from '../testing/fixtures';
import { requireTestKeyring, testProfileId, testVault } from '../testing/keyring';
import { makeTempDir, readDatabaseFiles, sha256File } from '../testing/temp-dir';
import { findNeedles } from '../testing/sqlcipher-pages';
import { DatabaseKey } from '../vault/database-key';
import { openProfileStore, reenrollProfile, rotateProfileKey, wipeProfile } from './profile-store';

const run = promisify(execFile);
const child = fileURLToPath(new URL('../testing/open-profile-child.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

describe('profile store: key from the real keychain', () => {
  beforeAll(requireTestKeyring);
  const { vault, service } = testVault();
  let profileId: string;
  let tmp: ReturnType<typeof makeTempDir>;
  let dbPath: string;

  beforeEach(() => {
    tmp = makeTempDir();
    profileId = testProfileId();
    dbPath = path.join(tmp.dir, `${profileId}.db`);
  });
  afterEach(async () => {
    await vault.deleteKey(profileId, 'current');
    await vault.deleteKey(profileId, 'next');
    tmp.remove();
  });

  async function seed() {
    const store = await openProfileStore({ profileId, dbPath, vault });
    const loc = buildLocationAccess();
    const route = buildRoute(loc.location.id);
    const stops = Array.from({ length: 5 }, (_, i) => buildStop(loc.location.id, route.id, { sequence: i }));
    await store.replaceLocations([loc]);
    await store.applyChanges([routeChange(route), ...stops.map((s) => stopChange(s))]);
    await store.enqueueLocalEdit(editNotes(stops[0]!, 'Key under the blue flowerpot'));
    return { store, stops, needles: [...piiOf(stops), 'Key under the blue flowerpot'] };
  }

  it('first run makes a random key in the keychain and a database it opens; the file holds no customer plaintext', async () => {
    const { store, stops, needles } = await seed();
    const hex = await keytar.getPassword(service, `db-key:${profileId}`);
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    // Scan while open (WAL and all) and after close.
    expect(findNeedles(readDatabaseFiles(dbPath), needles)).toEqual([]);
    await store.close();
    expect(findNeedles(readDatabaseFiles(dbPath), needles)).toEqual([]);
    // Beside the database only the pending-edit count, which holds a number and nothing else.
    expect(fs.readdirSync(tmp.dir).sort()).toEqual([path.basename(dbPath), `${path.basename(dbPath)}.pending`]);
    expect(fs.readFileSync(`${dbPath}.pending`, 'utf8')).toBe('1\n');

    const again = await openProfileStore({ profileId, dbPath, vault });
    expect(await again.stop(stops[1]!.id)).toEqual(stops[1]);
    expect(await again.pendingCount()).toBe(1);
    await again.close();
  });

  it('without a keychain (no D-Bus session bus): KeychainUnavailableError and no database file', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', child, dbPath, profileId, service], {
      cwd: repoRoot,
      env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(tmp.dir, 'no-bus')}` },
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(result).toMatchObject({ ok: false, name: 'KeychainUnavailableError', failure: 'no_secret_service', fileExists: false });
    expect(result['message']).toMatch(/Secret Service/);
    expect(fs.readdirSync(tmp.dir)).toEqual([]);
  });

  /** Runs the child in a private D-Bus session whose gnome-keyring is set up by `setup` (bash). */
  async function openInPrivateSession(setup: string): Promise<Record<string, unknown>> {
    const xdg = path.join(tmp.dir, 'xdg');
    for (const d of ['data', 'run']) fs.mkdirSync(path.join(xdg, d), { recursive: true, mode: 0o700 });
    const script = `${setup}\nexec "$0" --import tsx "$@"`;
    const { stdout } = await run('dbus-run-session', ['--', 'bash', '-c', script, process.execPath, child, dbPath, profileId, service], {
      cwd: repoRoot,
      // Private keyring directories: the test can neither see nor unlock the user's keyrings.
      env: { ...process.env, XDG_DATA_HOME: path.join(xdg, 'data'), XDG_RUNTIME_DIR: path.join(xdg, 'run'), DISPLAY: '', GNOME_KEYRING_CONTROL: '' },
      timeout: 40_000,
    });
    fs.rmSync(xdg, { recursive: true, force: true });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  }

  const waitForSecretService = `for _ in $(seq 50); do
      dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner \\
        string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break; sleep 0.1; done`;

  it('with a locked keyring: KeychainUnavailableError (locked) and no database file', async () => {
    const result = await openInPrivateSession(`
      eval "$(printf throwaway | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null
      ${waitForSecretService}
      dbus-send --session --dest=org.freedesktop.secrets --type=method_call /org/freedesktop/secrets \\
        org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login`);
    expect(result).toMatchObject({ ok: false, name: 'KeychainUnavailableError', failure: 'locked', fileExists: false });
    expect(result['message']).toMatch(/locked.*Unlock it/s);
    expect(fs.readdirSync(tmp.dir)).toEqual([]);
  });

  it('with a Secret Service but no login keyring: KeychainUnavailableError (no_keyring) and no database file', async () => {
    // D-Bus starts gnome-keyring on demand; with an empty keyring directory it has no login
    // keyring and nobody to answer the prompt that would create one.
    const result = await openInPrivateSession(':');
    expect(result).toMatchObject({ ok: false, name: 'KeychainUnavailableError', failure: 'no_keyring', fileExists: false });
    expect(fs.readdirSync(tmp.dir)).toEqual([]);
  });

  it('a key in the keychain that does not open the file: DatabaseKeyMismatchError, file untouched', async () => {
    const { store } = await seed();
    await store.close();
    const before = sha256File(dbPath);
    await vault.setKey(profileId, 'current', DatabaseKey.generate());
    const err = await openProfileStore({ profileId, dbPath, vault }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseKeyMismatchError);
    expect((err as Error).message).toMatch(/the key in the keychain does not open this database/i);
    expect(sha256File(dbPath)).toBe(before);
    // Beside the database only the pending-edit count, which holds a number and nothing else.
    expect(fs.readdirSync(tmp.dir).sort()).toEqual([path.basename(dbPath), `${path.basename(dbPath)}.pending`]);
    expect(fs.readFileSync(`${dbPath}.pending`, 'utf8')).toBe('1\n');
  });

  it('a file whose key is gone from the keychain: DatabaseKeyMissingError, file untouched', async () => {
    const { store } = await seed();
    await store.close();
    const before = sha256File(dbPath);
    await vault.deleteKey(profileId, 'current');
    await expect(openProfileStore({ profileId, dbPath, vault })).rejects.toBeInstanceOf(DatabaseKeyMissingError);
    expect(sha256File(dbPath)).toBe(before);
    expect(await vault.getKey(profileId, 'current')).toBeNull();
  });

  it('a truncated file: DatabaseCorruptError, never overwritten', async () => {
    const { store } = await seed();
    await store.close();
    fs.truncateSync(dbPath, fs.statSync(dbPath).size - 123);
    const before = sha256File(dbPath);
    const err = await openProfileStore({ profileId, dbPath, vault }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseCorruptError);
    expect(sha256File(dbPath)).toBe(before);
  });

  it('rotates the key: the old key no longer opens the file, the new one (now in the keychain) does', async () => {
    const { store, stops } = await seed();
    const oldKey = (await vault.getKey(profileId, 'current'))!;
    await rotateProfileKey(store, vault, profileId);
    await store.close();
    const newKey = (await vault.getKey(profileId, 'current'))!;
    expect(newKey.equals(oldKey)).toBe(false);
    expect(await vault.getKey(profileId, 'next')).toBeNull();
    await expect(openEncryptedDatabase(sqlcipherBinding, dbPath, oldKey)).rejects.toBeInstanceOf(DatabaseKeyMismatchError);
    const again = await openProfileStore({ profileId, dbPath, vault });
    expect(await again.stop(stops[2]!.id)).toEqual(stops[2]);
    expect(await again.pendingCount()).toBe(1);
    await again.close();
  });

  it('a crash after rekey but before the keychain update is recovered from the rotation slot', async () => {
    const { store, stops } = await seed();
    const newKey = DatabaseKey.generate();
    await vault.setKey(profileId, 'next', newKey);
    await store.rekey(newKey);
    await store.close(); // "crash": current still holds the old key
    const again = await openProfileStore({ profileId, dbPath, vault });
    expect(await again.stop(stops[0]!.id)).toMatchObject({ id: stops[0]!.id });
    expect((await vault.getKey(profileId, 'current'))!.equals(newKey)).toBe(true);
    expect(await vault.getKey(profileId, 'next')).toBeNull();
    await again.close();
  });

  it('a crash before the rekey leaves a stale rotation key, which is discarded', async () => {
    const { store } = await seed();
    await vault.setKey(profileId, 'next', DatabaseKey.generate());
    await store.close();
    const again = await openProfileStore({ profileId, dbPath, vault });
    expect(await vault.getKey(profileId, 'next')).toBeNull();
    await again.close();
  });

  it('wipe deletes the database, its sidecar files and the keychain entries', async () => {
    const { store } = await seed();
    expect(fs.existsSync(`${dbPath}-wal`)).toBe(true);
    const report = await wipeProfile({ profileId, dbPath, vault, store });
    expect(report.failures).toEqual([]);
    expect(report.keychainEntriesDeleted).toBe(1);
    expect(report.deletedFiles).toContain(dbPath);
    expect(fs.readdirSync(tmp.dir)).toEqual([]);
    expect(await keytar.getPassword(service, `db-key:${profileId}`)).toBeNull();
    expect(store.closed).toBe(true);
  });

  it('re-enrolls after the key is lost: the old file is set aside untouched, a new key opens a new, empty store', async () => {
    const { store } = await seed();
    await store.close();
    const before = sha256File(dbPath);
    await vault.deleteKey(profileId, 'current');
    await expect(openProfileStore({ profileId, dbPath, vault })).rejects.toBeInstanceOf(DatabaseKeyMissingError);

    const report = await reenrollProfile({ profileId, dbPath, vault });
    expect(report.lostEdits).toBe(1); // the seeded store's one unpushed edit, counted beside the file
    expect(sha256File(report.setAsidePath!)).toBe(before);
    expect(await report.store.locations()).toEqual([]);
    expect(await report.store.pendingCount()).toBe(0);
    await report.store.close();
    expect(await vault.getKey(profileId, 'current')).not.toBeNull();
    const reopened = await openProfileStore({ profileId, dbPath, vault });
    await reopened.close();
  });
});
