/**
 * The catching-up device, in its own process (apart from the servers, as a real console is).
 *
 * Ours: the desktop core as the app runs it: a profile store (openProfileStore: SQLCipher,
 * keyed through a vault) and the SyncClient (signs in over REST, connects the socket, and on
 * every connect pushes the outbox and pulls each location to its end, docs/sync-protocol.md).
 * Timed from `start()` (reconnect) until the client reports `live` (the pull has finished).
 *
 * Baseline: PouchDB (leveldb on disk) replicating from a CouchDB-protocol server.
 */
import fs from 'node:fs';
import path from 'node:path';
import PouchDB, { type PouchDatabase } from 'pouchdb';
import { maxPullLimit } from '@depotline/shared';
import { openProfileStore } from '../../desktop/src/core/profile/profile-store';
import type { LocalStore } from '../../desktop/src/core/store/local-store';
import { SyncClient } from '../../desktop/src/core/sync/sync-client';
import type { CatchupDone, FromCatchupClient, ToCatchupClient } from './catchup-protocol';
import { MemoryVault } from './memory-vault';
import { profiled } from './profile';

const reply = (msg: FromCatchupClient) => process.send!(msg);
process.on('disconnect', () => process.exit(0));

let ours: { store: LocalStore; client: SyncClient; warnings: string[] } | null = null;
let pouch: { local: PouchDatabase; remote: PouchDatabase; batchSize: number } | null = null;

process.on('message', (msg: ToCatchupClient) => {
  handle(msg).then(reply, (err: unknown) => reply({ kind: 'error', message: String((err as Error)?.stack ?? err) }));
});

/** Starts the client and resolves when it reports `live`: pushed, listed, pulled to the end. */
function startAndWaitLive(client: SyncClient, warnings: string[], timeoutMs = 600_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`the sync client did not go live: ${warnings.slice(-3).join('; ')}`)); }, timeoutMs);
    const off = client.on('status', (s) => {
      if (s.connection === 'live') {
        clearTimeout(timer);
        off();
        resolve();
      } else if (s.connection === 'ended') {
        clearTimeout(timer);
        off();
        reject(new Error(`the session ended: ${warnings.slice(-3).join('; ')}`));
      }
    });
    client.start().catch((err: Error) => {
      clearTimeout(timer);
      off();
      reject(err);
    });
  });
}

async function handle(msg: ToCatchupClient): Promise<FromCatchupClient> {
  switch (msg.kind) {
    case 'ours-prepare': {
      fs.mkdirSync(msg.dir, { recursive: true });
      const vault = new MemoryVault();
      const profileId = 'bench-catchup';
      const dbPath = path.join(msg.dir, `${profileId}.db`);
      const store = await openProfileStore({ profileId, dbPath, vault });
      const warnings: string[] = [];
      const client = new SyncClient({
        serverUrl: msg.url, profileId, dbPath, store, vault, ackTimeoutMs: 60_000,
        log: { warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f ?? {})}`) },
      });
      ours = { store, client, warnings };
      const signed = await client.signIn({ username: msg.username, password: msg.password });
      if (signed.status !== 'ok') throw new Error(`sign-in needs ${signed.status}`);
      // Online once: the device holds the location as it was, then goes offline.
      await startAndWaitLive(client, warnings);
      await client.stop();
      const [loc] = await store.locations();
      return { kind: 'ready', stops: await countStops(store), cursor: loc ? await store.cursor(loc.id) : 0, client: 'desktop core: openProfileStore + SyncClient (defaults)', pageSize: maxPullLimit };
    }
    case 'ours-catchup': {
      if (!ours) throw new Error('not prepared');
      const { client, store, warnings } = ours;
      const t = performance.now();
      await profiled('catchup-client', () => startAndWaitLive(client, warnings));
      const ms = performance.now() - t;
      await client.stop();
      const [loc] = await store.locations();
      const done: CatchupDone = { ms, stops: await countStops(store), cursor: loc ? await store.cursor(loc.id) : 0 };
      return { kind: 'done', result: done };
    }
    case 'pouch-prepare': {
      fs.mkdirSync(msg.dir, { recursive: true });
      const local = new PouchDB(path.join(msg.dir, 'local'));
      const remote = new PouchDB(msg.url);
      await local.replicate.from(remote, { batch_size: msg.batchSize });
      pouch = { local, remote, batchSize: msg.batchSize };
      const info = await local.info();
      return { kind: 'ready', stops: info.doc_count, cursor: Number(String(info.update_seq).split('-')[0]), client: 'PouchDB 9 (leveldb), replicate.from', pageSize: msg.batchSize };
    }
    case 'pouch-catchup': {
      if (!pouch) throw new Error('not prepared');
      const t = performance.now();
      await pouch.local.replicate.from(pouch.remote, { batch_size: pouch.batchSize });
      const ms = performance.now() - t;
      const info = await pouch.local.info();
      return { kind: 'done', result: { ms, stops: info.doc_count, cursor: Number(String(info.update_seq).split('-')[0]) } };
    }
    case 'close':
      if (ours) {
        await ours.client.dispose();
        await ours.store.close();
      }
      if (pouch) await pouch.local.close();
      return { kind: 'closed' };
  }
}

async function countStops(store: LocalStore): Promise<number> {
  let n = 0;
  for (const loc of await store.locations()) {
    const board = await store.boardQuery(loc.id, { limit: 5000 });
    n += board.reduce((sum, row) => sum + row.stops.total, 0);
  }
  return n;
}
