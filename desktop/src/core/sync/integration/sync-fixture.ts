/**
 * Test support for the sync client against a real sync-server on loopback (its own test
 * harness), the real keychain and real SQLCipher files. A "core" here is what the desktop app
 * runs per profile: a profile store plus a SyncClient.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { dateInZone, type Mutation, type PullResponse, type RoleName, type Stop } from '@depotline/shared';
import { buildLocation, buildUser, restCall, signIn as restSignIn, type BuiltUser } from '../../../../../sync-server/test/factories';
import type { ServerContext } from '../../../../../sync-server/src/context';
import { startTestServer, type TestServer } from '../../../../../sync-server/test/harness';
import { openProfileStore } from '../../profile/profile-store';
import type { LocalStore } from '../../store/local-store';
import { testProfileId, testVault } from '../../testing/keyring';
import type { KeytarVault } from '../../vault/keytar-vault';
import { SyncClient, type SyncClientOptions } from '../sync-client';
import type { SyncLog } from '../sync-events';

export { buildLocation, buildUser, restCall };

/** MFA is tested on its own; here roles sign in with a password so cores can sign in at will. */
export function startServer(overrides: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  return startTestServer('sqlite', { mfaRequiredRoles: new Set(), ...overrides });
}

export interface Core {
  profileId: string;
  dbPath: string;
  vault: KeytarVault;
  store: LocalStore;
  client: SyncClient;
  warnings: string[];
  /** Stops syncing, closes the store, removes the keychain entries. */
  dispose(): Promise<void>;
}

export const quietLog = (warnings: string[]): SyncLog => ({
  warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
});

/** Opens (or creates) a profile in `dir` and signs `user` in; does not start syncing. */
export async function openCore(
  serverUrl: string,
  dir: string,
  user: BuiltUser,
  options: { profileId?: string; vault?: KeytarVault; client?: Partial<SyncClientOptions>; signIn?: boolean } = {},
): Promise<Core> {
  const profileId = options.profileId ?? testProfileId();
  const vault = options.vault ?? testVault().vault;
  const dbPath = path.join(dir, `${profileId}.db`);
  const store = await openProfileStore({ profileId, dbPath, vault });
  const warnings: string[] = [];
  const client = new SyncClient({
    serverUrl, profileId, dbPath, store, vault, log: quietLog(warnings), retryDelayMs: 50, retryDelayMaxMs: 400, ackTimeoutMs: 4000,
    ...options.client,
  });
  if (options.signIn ?? true) await client.signIn({ username: user.username, password: user.password });
  return {
    profileId, dbPath, vault, store, client, warnings,
    async dispose() {
      await client.dispose();
      if (!store.closed) await store.close();
      await vault.deleteKey(profileId, 'current').catch(() => false);
      await vault.deleteKey(profileId, 'next').catch(() => false);
      await vault.deleteRefreshToken(profileId).catch(() => false);
    },
  };
}

export async function startCore(serverUrl: string, dir: string, user: BuiltUser, options: Parameters<typeof openCore>[3] = {}): Promise<Core> {
  const core = await openCore(serverUrl, dir, user, options);
  await core.client.start();
  await waitFor(() => core.client.status.connection === 'live', 'the core to go live');
  return core;
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (await check()) return;
  throw new Error(`timed out waiting for ${what}`);
}

/** An office user at the location who seeds routes and stops over REST, like an integration would. */
/** A running server as tests see it; `ctx` may change when the server restarts. */
export interface ServerHandle {
  readonly url: string;
  readonly ctx: ServerContext;
}

export class Office {
  private constructor(readonly server: ServerHandle, readonly user: BuiltUser, private token: string) {}

  static async at(server: ServerHandle, locationIds: string[], role: RoleName = 'dispatcher'): Promise<Office> {
    const user = await buildUser(server.ctx, { role, locationIds });
    const res = await restSignIn(server.url, server.ctx, user);
    return new Office(server, user, res.tokens.accessToken);
  }

  async push(mutations: Mutation[]): Promise<Array<{ id: string; status: string }>> {
    const res = await restCall(this.server.url, 'POST', '/sync/push', { token: this.token, body: { mutations } });
    if (res.status !== 200) throw new Error(`push failed: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { results: Array<{ id: string; status: string }> }).results;
  }

  /** A route on the depot's today (where the console's board opens), unless another day is given. */
  async createRoute(locationId: string, name = `Route ${crypto.randomBytes(3).toString('hex')}`, date?: string): Promise<string> {
    const routeId = `route-${crypto.randomBytes(5).toString('hex')}`;
    const day = date ?? dateInZone(Date.now(), (await this.server.ctx.db.selectFrom('locations').select('timezone').where('id', '=', locationId).executeTakeFirstOrThrow()).timezone);
    await this.expectApplied([{ id: crypto.randomUUID(), type: 'route.create', locationId, createdAt: Date.now(), routeId, name, date: day }]);
    return routeId;
  }

  /** Stops with unique, greppable customer data. */
  async createStops(locationId: string, routeId: string, n: number): Promise<Array<Required<Pick<Stop, 'id' | 'customerName' | 'address' | 'notes'>> & { phone: string }>> {
    const stops = Array.from({ length: n }, (_, i) => {
      const tag = crypto.randomBytes(4).toString('hex');
      return {
        id: `stop-${tag}`, customerName: `Kundin ${tag}`, address: `${i + 1} Birkenallee ${tag}, Leipzig`,
        phone: `+49 341 ${String(1_000_000 + (parseInt(tag, 16) % 8_999_999))}`, notes: `Hinterhof ${tag}`,
      };
    });
    await this.expectApplied(stops.map((s, i) => ({
      id: crypto.randomUUID(), type: 'stop.create' as const, locationId, createdAt: Date.now(), stopId: s.id, routeId, sequence: i,
      customerName: s.customerName, address: s.address, phone: s.phone, notes: s.notes, window: { start: 1_800_000_000_000, end: 1_800_003_600_000 },
    })));
    return stops;
  }

  async expectApplied(mutations: Mutation[]): Promise<void> {
    const results = await this.push(mutations);
    const bad = results.filter((r) => r.status !== 'applied');
    if (bad.length > 0) throw new Error(`seeding failed: ${JSON.stringify(bad)}`);
  }

  /** Everything the server holds at the location, as this user sees it, latest per entity. */
  async serverState(locationId: string): Promise<PullResponse['changes']> {
    const changes: PullResponse['changes'] = [];
    let after = 0;
    for (;;) {
      const res = await restCall(this.server.url, 'GET', `/locations/${locationId}/changes?after=${after}&limit=1000`, { token: this.token });
      const page = res.body as PullResponse;
      changes.push(...page.changes);
      if (!page.hasMore) return changes;
      after = page.cursor;
    }
  }
}

export function setStatusOf(locationId: string, stopId: string, to: Stop['status']): Mutation {
  return { id: crypto.randomUUID(), type: 'stop.setStatus', locationId, createdAt: Date.now(), stopId, to };
}

export function editNotesOf(locationId: string, stopId: string, notes: string): Mutation {
  return { id: crypto.randomUUID(), type: 'stop.editNotes', locationId, createdAt: Date.now(), stopId, notes };
}
