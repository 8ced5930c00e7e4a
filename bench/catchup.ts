/**
 * Issue 5, figure 3: catch-up. A console (the desktop core: profile store on SQLCipher and
 * the SyncClient, signed in with a password) syncs its location, goes offline, and 50,000
 * changes land there (new stops); timed from reconnect until the client is live again with its
 * store at the server's version. Baseline in the same run: PouchDB (leveldb) replicating the
 * same 50,000 documents from express-pouchdb (PouchDB's CouchDB-protocol server) into a local
 * PouchDB that had replicated the same base. Each client runs in its own process, apart from
 * its server; both fetch the same page size (the SyncClient's default, the server's maximum of 1000).
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import expressPouchdb from 'express-pouchdb';
import PouchDB from 'pouchdb';
import { maxPullLimit, type Stop } from '@depotline/shared';
import { createConsoles, insertLocations, insertRoute, routeDate, seedStops } from './lib/depot';
import type { CatchupDone, FromCatchupClient, ToCatchupClient } from './lib/catchup-protocol';
import { type BenchOptions, progress } from './lib/options';
import { benchDir, benchExecArgv, type SectionResult, sectionEntry, stopChild } from './lib/process';
import { profiled } from './lib/profile';
import { createBenchServer } from './lib/server';
import { hashPassword } from '../sync-server/src/auth/passwords';
import { round, ratio } from './lib/stats';

export interface CatchupFigures {
  changes: number;
  ours_s: number | null;
  pouchdb_s: number | null;
  ratio: number | null;
}

const routes = 500;
const baseStops = 1000;
/** The SyncClient's default pull page (the server's maximum); PouchDB gets the same batch_size. */
const pageSize = maxPullLimit;
const password = 'bench catch-up passphrase 7f3c';

class CatchupClient {
  readonly #child: ChildProcess;
  constructor() {
    this.#child = fork(path.join(benchDir, 'lib/catchup-client.ts'), [], { execArgv: benchExecArgv, stdio: ['ignore', 2, 2, 'ipc'] });
  }
  ask(msg: ToCatchupClient, timeoutMs = 300_000): Promise<FromCatchupClient> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`catch-up client: no answer to ${msg.kind}`)), timeoutMs);
      this.#child.once('message', (res: FromCatchupClient) => {
        clearTimeout(timer);
        if (res.kind === 'error') reject(new Error(`catch-up client: ${res.message}`));
        else resolve(res);
      });
      this.#child.send(msg);
    });
  }
  async done(msg: ToCatchupClient): Promise<CatchupDone> {
    const res = await this.ask(msg);
    if (res.kind !== 'done') throw new Error(`unexpected ${res.kind}`);
    return res.result;
  }
  stop(): void {
    stopChild(this.#child);
  }
}

async function measureOurs(changes: number, dir: string) {
  // Sign-in with a password only: MFA has its own tests; here it would only add a TOTP step.
  const env = await createBenchServer({ kind: 'sqlite' }, { mfaRequiredRoles: new Set() });
  const client = new CatchupClient();
  try {
    const ctx = env.ctx;
    const [locationId] = await insertLocations(ctx, 1);
    const [cred] = await createConsoles(ctx, [{ locationId: locationId!, role: 'dispatcher' }]);
    await ctx.db.updateTable('users').set({ password_hash: await hashPassword(password) }).where('id', '=', cred!.userId).execute();
    for (let r = 0; r < routes; r++) await insertRoute(ctx, locationId!, `route-${r}`);
    for (let r = 0; r < routes; r++) await seedStops(ctx, locationId!, `route-${r}`, baseStops / routes, { status: 'mixed' });
    const running = await env.start();
    const ready = await client.ask({ kind: 'ours-prepare', url: running.url, username: cred!.username, password, dir });
    if (ready.kind !== 'ready') throw new Error('client not ready');
    progress('catchup', `ours: device offline at version ${ready.cursor}; ${changes.toLocaleString('en')} changes land`);
    for (let r = 0; r < routes; r++) {
      await seedStops(ctx, locationId!, `route-${r}`, changes / routes, { status: 'mixed', firstSequence: baseStops / routes });
    }
    const server = await ctx.db.selectFrom('locations').select('version').where('id', '=', locationId!).executeTakeFirstOrThrow();
    const serverStops = Number((await ctx.db.selectFrom('stops').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    progress('catchup', 'ours: reconnect');
    const done = await profiled('catchup-server', () => client.done({ kind: 'ours-catchup' }));
    if (done.cursor !== Number(server.version) || done.stops !== serverStops) {
      throw new Error(`the store does not match the server: cursor ${done.cursor}/${server.version}, stops ${done.stops}/${serverStops}`);
    }
    await client.ask({ kind: 'close' });
    return { ...done, client: ready.client, pageSize: ready.pageSize };
  } finally {
    client.stop();
    await env.dispose();
  }
}

/** The same stop the server would send a dispatcher, as a CouchDB document. */
function stopDoc(r: number, seq: number, now: number): Stop & { _id: string; type: 'stop' } {
  const id = `route-${r}-s${seq}`;
  return {
    _id: id, type: 'stop', id, locationId: 'depot-01', routeId: `route-${r}`, sequence: seq,
    customerName: `Customer ${(seq * 2654435761 % 2 ** 32).toString(16)}`, address: `${seq + 1} Lindenstrasse, 10${String(seq % 1000).padStart(3, '0')} Berlin`,
    phone: seq % 7 === 0 ? null : `+49 30 ${1_000_000 + ((seq * 7919) % 8_999_999)}`, notes: 'Leave with neighbour; ring twice',
    window: { start: 1_800_000_000_000, end: 1_800_003_600_000 }, status: 'planned', eta: null, version: seq + 1, updatedAt: now, updatedBy: 'bench',
    orderRef: `SO-${seq}`, parcelCount: 1, barcodes: [`JJD${seq}`], minimumAge: null, idCheck: false, failureReason: null,
  };
}

async function measurePouch(changes: number, dir: string) {
  const serverDir = path.join(dir, 'couch');
  fs.mkdirSync(serverDir, { recursive: true });
  const ServerPouch = PouchDB.defaults({ prefix: `${serverDir}/` });
  const app = expressPouchdb(ServerPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true, logPath: path.join(serverDir, 'log.txt') });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/depot-01`;
  const db = new ServerPouch('depot-01');
  const client = new CatchupClient();
  try {
    const now = Date.now();
    const base = [];
    for (let r = 0; r < routes; r++) {
      base.push({ _id: `route-${r}`, type: 'route', id: `route-${r}`, locationId: 'depot-01', name: `Route route-${r}`, date: routeDate, driverId: null, vehicleId: null, version: r + 1, updatedAt: now, updatedBy: 'bench' });
      for (let s = 0; s < baseStops / routes; s++) base.push(stopDoc(r, s, now));
    }
    await db.bulkDocs(base);
    const ready = await client.ask({ kind: 'pouch-prepare', url, dir: path.join(dir, 'pouch-client'), batchSize: pageSize });
    if (ready.kind !== 'ready') throw new Error('client not ready');
    progress('catchup', `PouchDB: replica offline with ${ready.stops} docs; ${changes.toLocaleString('en')} documents land`);
    const perRoute = changes / routes;
    for (let r0 = 0; r0 < routes; r0 += 20) {
      const docs = [];
      for (let r = r0; r < r0 + 20; r++) for (let s = 0; s < perRoute; s++) docs.push(stopDoc(r, baseStops / routes + s, now));
      await db.bulkDocs(docs);
    }
    const total = (await db.info()).doc_count;
    progress('catchup', 'PouchDB: replicate');
    const done = await client.done({ kind: 'pouch-catchup' });
    if (done.stops !== total) throw new Error(`the replica does not match: ${done.stops}/${total} docs`);
    await client.ask({ kind: 'close' });
    return done;
  } finally {
    client.stop();
    await db.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function run(options: BenchOptions): Promise<SectionResult<CatchupFigures>> {
  const changes = options.quick ? 20_000 : 50_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-bench-catchup-'));
  try {
    const ours = await measureOurs(changes, path.join(dir, 'ours'));
    progress('catchup', `ours: ${(ours.ms / 1000).toFixed(2)} s`);
    const pouch = await measurePouch(changes, dir);
    progress('catchup', `PouchDB: ${(pouch.ms / 1000).toFixed(2)} s`);
    return {
      figures: { changes, ours_s: round(ours.ms / 1000), pouchdb_s: round(pouch.ms / 1000), ratio: ratio(pouch.ms, ours.ms) },
      meta: {
        page_size: ours.pageSize, routes, base_stops: baseStops, ours_client: ours.client, vault: 'in-memory (bench/lib/memory-vault.ts)',
        ratio_is: 'pouchdb_s / ours_s (how many times faster ours is)',
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

sectionEntry(import.meta.url, run);
