/**
 * Test support, run as a child process: a desktop core that signs in and syncs, queues edits
 * offline, waits for "go" on stdin (the parent adds server data meanwhile), then reconnects:
 * pushes, and pulls in small pages, printing a line per committed store write so the parent
 * can SIGKILL it in the middle of applying the pull.
 */
import readline from 'node:readline';
import crypto from 'node:crypto';
import { openProfileStore } from '../../profile/profile-store';
import { KeytarVault } from '../../vault/keytar-vault';
import { SyncClient } from '../sync-client';

const [serverUrl, dbPath, profileId, service, username, password, locationId, stopIds] = process.argv.slice(2);
if (!serverUrl || !dbPath || !profileId || !service || !username || !password || !locationId || !stopIds) throw new Error('bad arguments');

const vault = new KeytarVault({ service });
const store = await openProfileStore({ profileId, dbPath, vault });
const client = new SyncClient({ serverUrl, profileId, dbPath, store, vault, pullPageSize: 10, log: { warn: () => undefined } });
await client.signIn({ username, password });
store.subscribe((change) => console.log(JSON.stringify({ write: change.locationIds })));
// First a sync so the stops exist locally, then offline edits, then a full re-pull.
await client.start();
await new Promise<void>((resolve) => {
  const off = client.on('status', (s) => {
    if (s.connection === 'live') {
      off();
      resolve();
    }
  });
});
await client.stop();
const edits = stopIds.split(',').map((stopId) => ({
  id: crypto.randomUUID(), type: 'stop.editNotes' as const, locationId, createdAt: Date.now(), stopId, notes: `child edit ${stopId}`,
}));
for (const m of edits) await client.edit(m);
console.log(JSON.stringify({ enqueued: edits.map((m) => m.id) }));
for await (const line of readline.createInterface({ input: process.stdin })) {
  if (line.trim() === 'go') break;
}
console.log(JSON.stringify({ going: true }));
await client.start();
