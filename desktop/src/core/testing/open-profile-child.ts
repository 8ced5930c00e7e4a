/**
 * Test support, run in a child process (`node --import tsx`): opens a profile store in an
 * environment the parent chose (no D-Bus, a locked keyring) and prints what happened as one
 * JSON line. libsecret keeps its D-Bus connection for the life of the process, so a missing
 * keychain can only be tested in a fresh process.
 */
import fs from 'node:fs';
import { openProfileStore } from '../profile/profile-store';
import { KeytarVault } from '../vault/keytar-vault';

const [dbPath, profileId, service] = process.argv.slice(2);
if (!dbPath || !profileId || !service) throw new Error('usage: open-profile-child <dbPath> <profileId> <service>');

try {
  const store = await openProfileStore({ dbPath, profileId, vault: new KeytarVault({ service, timeoutMs: 8000 }) });
  await store.close();
  console.log(JSON.stringify({ ok: true, fileExists: fs.existsSync(dbPath) }));
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  const failure = 'failure' in e ? e.failure : null;
  console.log(JSON.stringify({ ok: false, name: e.name, failure, message: e.message, fileExists: fs.existsSync(dbPath) }));
}
