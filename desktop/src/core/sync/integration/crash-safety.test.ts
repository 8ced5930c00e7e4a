import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openProfileStore } from '../../profile/profile-store';
import { requireTestKeyring, testProfileId, testVault } from '../../testing/keyring';
import { makeTempDir } from '../../testing/temp-dir';
import { SyncClient } from '../sync-client';
import { RestartableServer } from './restartable-server';
import { buildLocation, buildUser, editNotesOf, Office, quietLog, startCore, waitFor, type Core } from './sync-fixture';

const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Starts a TypeScript child with tsx and hands out its JSON stdout lines as they come. */
function startChild(script: string, args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', here(script), ...args], { cwd: repoRoot, stdio: 'pipe' });
  const lines: Array<Record<string, unknown>> = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not one of ours
    }
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  return { child, lines, exited };
}

describe('crashes in the middle of a sync', () => {
  beforeAll(requireTestKeyring);
  let tmp: ReturnType<typeof makeTempDir>;
  let server: RestartableServer;
  let dataDir: string;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    tmp = makeTempDir();
    dataDir = path.join(tmp.dir, 'server');
    fs.mkdirSync(dataDir);
    server = await RestartableServer.start({ dataDir, database: { kind: 'sqlite', file: path.join(dataDir, 'server.sqlite') } });
  });
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
    await server.dispose();
    tmp.remove();
  });

  async function seed(stopCount: number) {
    const A = (await buildLocation(server.ctx)).id;
    const office = await Office.at(server, [A]);
    const routeId = await office.createRoute(A);
    const stops = [];
    for (let i = 0; i < stopCount; i += 100) stops.push(...(await office.createStops(A, routeId, Math.min(100, stopCount - i))));
    return { A, office, routeId, stops };
  }

  async function expectMatchesServer(store: Core['store'], office: Office, A: string) {
    const truth = (await office.serverState(A)).filter((c) => c.entity === 'stop').map((c) => c.data);
    for (const s of truth) expect(isDeepStrictEqual(await store.stop(s.id), s), s.id).toBe(true);
  }

  /**
   * The server dies in the middle of answering a push of 40 edits. A push is one transaction on
   * the server: killed inside it, none of the push is committed; killed after its COMMIT and
   * before the answer, all of it is, and the device (which heard nothing) sends it again.
   * Either way, after the restart every edit is applied exactly once.
   */
  for (const scenario of [
    { killAt: 'mutation:15', when: 'inside its transaction', committedBeforeAnswer: 0 },
    { killAt: 'after-commit', when: 'after its commit, before its answer', committedBeforeAnswer: 40 },
  ]) {
    it(`server killed mid-push, ${scenario.when}: after its restart every edit is applied exactly once and none is lost`, async () => {
      const { A, office, stops } = await seed(40);
      const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
      const core = await startCore(server.url, tmp.dir, user);
      cleanup.push(() => core.dispose());
      await core.client.stop();
      const edits = stops.map((s) => editNotesOf(A, s.id, `edited ${s.id}`));
      for (const m of edits) await core.client.edit(m);

      await server.stop();
      const crashing = startChild('server-child.ts', [dataDir, String(server.env.config.port), scenario.killAt]);
      cleanup.push(() => Promise.resolve(crashing.child.kill('SIGKILL')));
      await waitFor(() => crashing.lines.length > 0, 'the child server to listen', 30_000); // a fresh tsx process: slow to start on a loaded machine
      await core.client.start();
      expect(await crashing.exited).toBe('SIGKILL');
      expect(await core.store.pendingCount()).toBe(edits.length); // no answer reached the device

      await server.resume();
      const applied = async () => (await server.ctx.db.selectFrom('applied_mutations').select('id').where('id', 'in', edits.map((m) => m.id)).execute()).length;
      expect(await applied()).toBe(scenario.committedBeforeAnswer);

      await waitFor(async () => (await core.store.pendingCount()) === 0 && core.client.status.connection === 'live', 'the outbox to drain after the restart', 20_000);
      expect(await applied()).toBe(edits.length);
      expect(await core.store.rejectedMutations()).toEqual([]);
      const audited = await server.ctx.db.selectFrom('audit_log').select('target_id').where('action', '=', 'stop.editNotes').where('actor_user_id', '=', user.id).execute();
      expect(audited.length).toBe(edits.length); // one audit entry per edit: nothing applied twice
      await expectMatchesServer(core.store, office, A);
    }, 60_000);
  }

  it('client killed mid-apply: the file opens intact, and the resumed sync converges without loss or duplicates', async () => {
    const { A, office, routeId, stops } = await seed(20);
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] });
    const { vault, service } = testVault();
    const profileId = testProfileId();
    const dbPath = path.join(tmp.dir, `${profileId}.db`);
    cleanup.push(async () => {
      await vault.deleteKey(profileId, 'current');
      await vault.deleteRefreshToken(profileId);
    });
    const edited = stops.slice(0, 5).map((s) => s.id);
    const core = startChild('core-child.ts', [server.url, dbPath, profileId, service, user.username, user.password, A, edited.join(',')]);
    cleanup.push(() => Promise.resolve(core.child.kill('SIGKILL')));
    await waitFor(() => core.lines.some((l) => 'enqueued' in l), 'the child to queue its edits', 20_000);
    const enqueued = core.lines.find((l) => 'enqueued' in l)!['enqueued'] as string[];

    for (let i = 0; i < 3; i++) await office.createStops(A, routeId, 100); // a long pull for the child
    core.child.stdin.write('go\n');
    const writesBefore = () => core.lines.filter((l) => 'write' in l).length;
    const atGo = writesBefore();
    await waitFor(() => writesBefore() >= atGo + 5, 'the child to be pulling', 20_000);
    core.child.kill('SIGKILL');
    expect(await core.exited).toBe('SIGKILL');

    const store = await openProfileStore({ profileId, dbPath, vault }); // verifies every page
    const cursor = await store.cursor(A);
    const client = new SyncClient({ serverUrl: server.url, profileId, dbPath, store, vault, log: quietLog([]) });
    cleanup.push(async () => {
      await client.dispose();
      await store.close();
    });
    await client.start();
    await waitFor(async () => (await store.pendingCount()) === 0 && client.status.connection === 'live', 'the resumed sync', 20_000);
    expect(await store.cursor(A)).toBeGreaterThanOrEqual(cursor);

    const applied = await server.ctx.db.selectFrom('applied_mutations').select('id').where('id', 'in', enqueued).execute();
    expect(applied.length).toBe(enqueued.length);
    const audited = await server.ctx.db.selectFrom('audit_log').select('target_id').where('action', '=', 'stop.editNotes').where('actor_user_id', '=', user.id).execute();
    expect(audited.length).toBe(enqueued.length);
    await expectMatchesServer(store, office, A);
    for (const id of edited) expect(await store.stop(id)).toMatchObject({ notes: `child edit ${id}` });
  }, 90_000);
});
