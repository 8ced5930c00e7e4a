import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseKeyMismatchError } from '../errors';
import { buildLocationAccess, buildRoute, buildStop, editNotes, routeChange, stopChange } from '../testing/fixtures';
import { decryptDatabaseFile, findNeedles } from '../testing/sqlcipher-pages';
import { makeTempDir, sha256File } from '../testing/temp-dir';
import { DatabaseKey } from '../vault/database-key';
import { createEncryptedDatabase, openEncryptedDatabase } from './encrypted-database';
import { EncryptedStore } from './encrypted-store';
import { migrate } from './migrate';
import { multipleCiphersBinding } from './multiple-ciphers-binding';
import type { SqlBinding } from './sql-binding';
import { sqlcipherBinding } from './sqlcipher-binding';
import { pagesFailingHmac } from './sqlcipher-page-check';

/**
 * The Windows driver and the Linux/macOS driver read and write one file format: a profile
 * database moves between them with the same raw key, both ways, with its pages verified on
 * open. (The rest of the store's suite runs on each driver in turn: vitest.config.ts.)
 */
const pairs: readonly (readonly [string, SqlBinding, string, SqlBinding])[] = [
  ['@journeyapps/sqlcipher', sqlcipherBinding, 'better-sqlite3-multiple-ciphers', multipleCiphersBinding],
  ['better-sqlite3-multiple-ciphers', multipleCiphersBinding, '@journeyapps/sqlcipher', sqlcipherBinding],
];

describe.each(pairs)('a profile database written by %s', (_writerName, writer, readerName, reader) => {
  let tmp: ReturnType<typeof makeTempDir>;
  let file: string;
  let key: DatabaseKey;
  const depot = buildLocationAccess({ name: 'Interop depot' });
  const route = buildRoute(depot.location.id);
  const stop = buildStop(depot.location.id, route.id);

  beforeEach(async () => {
    tmp = makeTempDir();
    file = path.join(tmp.dir, 'profile.db');
    key = DatabaseKey.generate();
    const store = new EncryptedStore(await createEncryptedDatabase(writer, file, key, async (conn) => {
      await migrate(conn);
    }));
    await store.replaceLocations([depot]);
    await store.applyChanges([routeChange(route), stopChange(stop)]);
    await store.enqueueLocalEdit(editNotes(stop, 'Ring twice, written by the first driver'));
    await store.close();
  });
  afterEach(() => tmp.remove());

  it(`opens with ${readerName} under the same raw key, pages verified, and goes back with the reader's edits`, async () => {
    const there = new EncryptedStore(await openEncryptedDatabase(reader, file, key, { verifyPages: true }));
    expect(await there.stop(stop.id)).toMatchObject({ customerName: stop.customerName, phone: stop.phone });
    expect((await there.pendingMutations()).map((p) => p.mutation)).toEqual([expect.objectContaining({ notes: 'Ring twice, written by the first driver' })]);
    await there.enqueueLocalEdit(editNotes(stop, 'Back door, written by the second driver'));
    await there.close();

    // Still SQLCipher 4 on disk after the reader wrote: every page signed, the data encrypted.
    expect(pagesFailingHmac(file, key)).toEqual([]);
    expect(findNeedles([fs.readFileSync(file)], [stop.customerName!])).toEqual([]);
    expect(findNeedles(decryptDatabaseFile(file, key), [stop.customerName!])).toEqual([stop.customerName]);

    const back = new EncryptedStore(await openEncryptedDatabase(writer, file, key, { verifyPages: true }));
    expect((await back.pendingMutations()).map((p) => (p.mutation as { notes?: string }).notes)).toEqual([
      'Ring twice, written by the first driver', 'Back door, written by the second driver',
    ]);
    await back.close();
  });

  it(`refuses another key on ${readerName} too, leaving the file unchanged`, async () => {
    const before = sha256File(file);
    await expect(openEncryptedDatabase(reader, file, DatabaseKey.generate())).rejects.toBeInstanceOf(DatabaseKeyMismatchError);
    expect(sha256File(file)).toBe(before);
  });

  it(`after a rekey, ${readerName} opens it with the new key and not the old`, async () => {
    const db = await openEncryptedDatabase(writer, file, key);
    const newKey = DatabaseKey.generate();
    await db.rekey(newKey);
    await db.close();
    await expect(openEncryptedDatabase(reader, file, key)).rejects.toBeInstanceOf(DatabaseKeyMismatchError);
    const there = new EncryptedStore(await openEncryptedDatabase(reader, file, newKey));
    expect(await there.stop(stop.id)).toMatchObject({ id: stop.id });
    await there.close();
  });

  it(`replays on ${readerName} the encrypted WAL a crash left behind`, async () => {
    const live = new EncryptedStore(await openEncryptedDatabase(writer, file, key));
    const late = buildStop(depot.location.id, route.id, { sequence: 1 });
    await live.applyChanges([stopChange(late)]);
    // The files as a power cut would leave them: the last commit is only in the WAL.
    const crashed = path.join(tmp.dir, 'crashed.db');
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
    fs.copyFileSync(file, crashed);
    fs.copyFileSync(`${file}-wal`, `${crashed}-wal`);
    await live.close();

    const there = new EncryptedStore(await openEncryptedDatabase(reader, crashed, key));
    expect(await there.stop(late.id)).toMatchObject({ customerName: late.customerName });
    await there.close();
  });
});
