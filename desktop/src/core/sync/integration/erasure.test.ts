import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Mutation } from '@depotline/shared';
import pg from 'pg';
import sharp from 'sharp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signIn as restSignIn } from '../../../../../sync-server/test/factories';
import { backends, startTestServer, type TestServer } from '../../../../../sync-server/test/harness';
import { requireTestKeyring } from '../../testing/keyring';
import { decryptDatabaseFile, decryptWalFile, findNeedles } from '../../testing/sqlcipher-pages';
import { makeTempDir } from '../../testing/temp-dir';
import { buildLocation, buildUser, Office, restCall, startCore, waitFor, type Core } from './sync-fixture';

/**
 * Erasure end to end: a customer's data on the server and in two consoles' SQLCipher files, one
 * of them offline while the erasure runs. Afterwards nothing of it is left in the server's
 * database (SQLite: the file and its WAL, scanned for the plaintext and for the ciphertexts and
 * blind-index values the rows held before; PostgreSQL: every row SQL can see), in the proof
 * files, or in either console's decrypted pages, while another customer's data is still there.
 */
describe.each(backends)('erasure reaches every console (%s server)', (backend) => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let tmp: ReturnType<typeof makeTempDir>;
  const cores: Core[] = [];

  beforeEach(async () => {
    tmp = makeTempDir();
    server = await startTestServer(backend, { mfaRequiredRoles: new Set() });
  }, 60_000);
  afterEach(async () => {
    for (const c of cores.splice(0)) await c.dispose();
    await server.dispose();
    tmp.remove();
  });

  /** Every page of a console's file and WAL, decrypted with its key from the keychain. */
  const consolePages = async (c: Core) => {
    const key = await c.vault.getKey(c.profileId, 'current');
    if (!key) throw new Error('the console has no key');
    return [...decryptDatabaseFile(c.dbPath, key), ...decryptWalFile(`${c.dbPath}-wal`, key)];
  };

  /** What the server's database holds, as bytes: the SQLite file and its WAL, or every PostgreSQL row as text. */
  const serverBytes = async (): Promise<Buffer[]> => {
    if (server.env.sqliteFile) {
      const f = server.env.sqliteFile;
      return [f, `${f}-wal`].filter((p) => fs.existsSync(p)).map((p) => fs.readFileSync(p));
    }
    // PostgreSQL: dead row versions stay in the heap until VACUUM (docs/security-model.md); what
    // SQL can read is every live row of every table.
    const client = new pg.Client({ connectionString: server.env.databaseUrl! });
    await client.connect();
    try {
      const tables = await client.query<{ name: string }>("select tablename as name from pg_tables where schemaname = 'public'");
      const out: Buffer[] = [];
      for (const { name } of tables.rows) {
        const rows = await client.query<{ r: string }>(`select t::text as r from "${name.replace(/"/g, '')}" t`);
        out.push(Buffer.from(rows.rows.map((r) => r.r).join('\n')));
      }
      return out;
    } finally {
      await client.end();
    }
  };

  const proofFiles = (): Buffer[] => {
    const dir = path.join(server.ctx.config.proofs.dir, 'proofs');
    return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))) : [];
  };

  /** Values stored for a row that identify the customer: ciphertexts (`v1.`) and blind-index values. */
  const storedSecrets = (row: Record<string, unknown>): string[] =>
    Object.entries(row).flatMap(([col, v]) => (typeof v === 'string' && (v.startsWith('v1.') || (col.endsWith('_bidx') || col === 'wrapped_key')) ? [v] : []));

  it('leaves nothing of the customer on the server, in the proof files or in either console, the offline one included', async () => {
    const { ctx } = server;
    const A = (await buildLocation(ctx)).id;
    const office = await Office.at(server, [A]);
    const routeId = await office.createRoute(A);
    const tag = crypto.randomBytes(4).toString('hex');
    const phone = `+49 341 ${String(2_000_000 + (parseInt(tag, 16) % 7_000_000))}`;
    const email = `erasmus.${tag}@example.org`;
    const customer = [0, 1].map((i) => ({
      stopId: `stop-${tag}-${i}`, customerName: `Erasmus Kundin ${tag}`, address: `${i + 3} Loeschweg ${tag}, Leipzig`, notes: `Klingel ${tag}-${i}`,
    }));
    await office.expectApplied(customer.map((c, i): Mutation => ({
      id: crypto.randomUUID(), type: 'stop.create', locationId: A, createdAt: Date.now(), stopId: c.stopId, routeId, sequence: i,
      customerName: c.customerName, address: c.address, phone, notes: c.notes, email, window: { start: 1_800_000_000_000, end: 1_800_003_600_000 },
    })));
    const [bystander] = await office.createStops(A, routeId, 1);
    const needles = [customer[0]!.customerName, ...customer.flatMap((c) => [c.address, c.notes]), phone, email];
    const kept = [bystander!.customerName, bystander!.address];

    // A proof of delivery on the customer's first stop, captured by the route's driver.
    const driverUser = await buildUser(ctx, { role: 'driver', locationIds: [A] });
    const driverId = `drv-${tag}`;
    await ctx.db.insertInto('drivers').values({ id: driverId, location_id: A, name: 'Dana Driver', user_id: driverUser.id, retired_at: null }).execute();
    await office.expectApplied([{ id: crypto.randomUUID(), type: 'route.assign', locationId: A, createdAt: Date.now(), routeId, driverId, vehicleId: null }]);
    const driverToken = (await restSignIn(server.url, ctx, driverUser)).tokens.accessToken;
    const photo = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 20, g: 120, b: 40 } } }).png().toBuffer();
    const captured = await fetch(`${server.url}/api/v1/stops/${customer[0]!.stopId}/proof/photo`, {
      method: 'POST', headers: { authorization: `Bearer ${driverToken}`, 'content-type': 'image/png' }, body: photo,
    });
    expect(captured.status).toBe(201);
    expect(proofFiles()).toHaveLength(1);
    const sealedBefore = proofFiles();

    // Two consoles hold the customer's data.
    const users = await Promise.all([0, 1].map(() => buildUser(ctx, { role: 'dispatcher', locationIds: [A] })));
    for (const u of users) cores.push(await startCore(server.url, tmp.dir, u));
    const [online, offline] = cores as [Core, Core];
    for (const c of cores) {
      await waitFor(async () => (await c.store.stop(customer[1]!.stopId)) !== null && (await c.store.stop(bystander!.id)) !== null, 'the stops to arrive', 20_000);
      // Control: the scan finds the data before the erasure, so it can fail.
      expect(findNeedles(await consolePages(c), needles)).toEqual(needles);
    }
    await offline.client.stop();

    // What the server stored for the customer before: the scans look for these too.
    const stopRows = await ctx.db.selectFrom('stops').selectAll().where('id', 'in', customer.map((c) => c.stopId)).execute();
    const proofRows = await ctx.db.selectFrom('proofs').selectAll().where('stop_id', 'in', customer.map((c) => c.stopId)).execute();
    const secrets = [...stopRows, ...proofRows].flatMap((r) => storedSecrets(r as Record<string, unknown>));
    expect(secrets.length).toBeGreaterThan(8);
    expect(findNeedles(await serverBytes(), secrets).length).toBeGreaterThan(0);

    // The erasure, as an admin asks for it.
    const admin = await buildUser(ctx, { role: 'admin', locationIds: [A] });
    const adminToken = (await restSignIn(server.url, ctx, admin)).tokens.accessToken;
    const created = await restCall(server.url, 'POST', '/privacy/requests', {
      token: adminToken, body: { kind: 'erasure', law: 'gdpr', locationIds: [A], subject: { phone } },
    });
    expect(created.status).toBe(201);
    const requestId = (created.body as { id: string }).id;
    const requestRow = await ctx.db.selectFrom('privacy_requests').selectAll().where('id', '=', requestId).executeTakeFirstOrThrow();
    secrets.push(...storedSecrets(requestRow));
    // A proof would be destroyed: the erasure waits for a second admin, and runs when they approve.
    const asked = await restCall(server.url, 'POST', `/privacy/requests/${requestId}/erase`, { token: adminToken, body: { mode: 'pseudonymise' } });
    expect(asked.status).toBe(202);
    const approver = await buildUser(ctx, { role: 'admin', locationIds: [A] });
    const approverToken = (await restSignIn(server.url, ctx, approver)).tokens.accessToken;
    const approvalId = (asked.body as { approval: { id: string } }).approval.id;
    expect((await restCall(server.url, 'POST', `/approvals/${approvalId}/approve`, { token: approverToken, body: {} })).status).toBe(200);
    const erased = await restCall(server.url, 'GET', `/privacy/requests/${requestId}`, { token: adminToken });
    expect((erased.body as { actions: { counts?: Record<string, number> }[] }).actions.at(-1)!.counts).toMatchObject({ stopsFound: 2, stopsErased: 2, proofsDestroyed: 1 });

    // The online console hears it live; the offline one when it is back.
    const pseudonymised = async (c: Core) => (await Promise.all(customer.map(async (s) => (await c.store.stop(s.stopId))?.pseudonymised === true))).every(Boolean);
    await waitFor(() => pseudonymised(online), 'the online console to receive the erasure', 20_000);
    expect(await pseudonymised(offline)).toBe(false);
    await offline.client.start();
    await waitFor(async () => offline.client.status.connection === 'live' && (await pseudonymised(offline)), 'the offline console to catch up', 20_000);

    for (const c of cores) {
      const facts = await c.store.stop(customer[0]!.stopId);
      expect(facts).toMatchObject({ id: customer[0]!.stopId, routeId, pseudonymised: true, phone: null, email: null });
      expect(facts?.customerName).toBeUndefined();
      const pages = await consolePages(c);
      expect(findNeedles(pages, needles)).toEqual([]);
      expect(findNeedles(pages, kept)).toEqual(kept);
      expect(fs.existsSync(`${c.dbPath}-wal`) ? fs.statSync(`${c.dbPath}-wal`).size : 0).toBe(0);
    }

    // The server: no plaintext, none of the old ciphertexts or blind-index values, in the
    // database (and the SQLite WAL) or the proof files; the sealed photo itself is gone.
    await expect.poll(async () => findNeedles(await serverBytes(), [...needles, ...secrets]), { timeout: 10_000 }).toEqual([]);
    const remaining = proofFiles();
    expect(remaining.filter((f) => sealedBefore.some((b) => b.equals(f)))).toEqual([]);
    expect(findNeedles(remaining, [...needles, ...secrets])).toEqual([]);
  }, 120_000);
});
