/**
 * A small world for integration credential tests: two depots, an admin of both (signed in over
 * REST, with a second factor), a shop integration at depot A and a courier integration at depot
 * B, a hand-moved clock, and helpers that call the admin API and the integration API over real
 * HTTP. Integrations are registered with the registry's own code as the CLI operator.
 */
import { IntegrationCreate, type MachinePermission } from '@depotline/shared';
import type { Granter } from '../src/access/authority';
import type { ServerContext } from '../src/context';
import { applyIntegrationCreate, applyIntegrationSuspend } from '../src/integrations/registry';
import { buildLocation, buildUser, type BuiltUser, restCall, type RestResult, signIn, testClock, type TestClock } from './factories';
import { type Backend, startTestServer, type TestServer } from './harness';

export const operator: Granter = { kind: 'operator', actor: { userId: null, label: 'cli:test', deviceId: null, ip: null } };
export const dayMs = 86_400_000;

export interface CredentialWorld {
  server: TestServer;
  ctx: ServerContext;
  clock: TestClock;
  A: string;
  B: string;
  admin: BuiltUser;
  /** orders.write, orders.read, status.read at A. */
  shopId: string;
  /** status.read, orders.read at B; reads every order there (`orderVisibility: 'location'`). */
  courierId: string;
  /** The admin's REST call (signs in again after the clock moved past the session's idle limit). */
  asAdmin(method: string, path: string, body?: unknown): Promise<RestResult>;
  /** A call of the integration API with `Authorization: <authorization>` (raw), or `Bearer <credential>`. */
  machine(path: string, credential: string | { authorization: string }): Promise<RestResult>;
  /** An API key of the shop (or `integrationId`), made over REST. */
  makeKey(opts?: { integrationId?: string; scopes?: MachinePermission[]; days?: number }): Promise<{ id: string; secret: string }>;
  dispose(): Promise<void>;
}

export async function registerIntegration(
  ctx: ServerContext, name: string, scopes: { locationId: string; permissions: MachinePermission[] }[], extra: { kind?: string; orderVisibility?: string } = {},
): Promise<string> {
  const input = IntegrationCreate.parse({ name, kind: 'shop', contact: 'ops@example.test', scopes, ...extra });
  return (await ctx.db.transaction().execute((trx) => applyIntegrationCreate(trx, operator, input, ctx.now()))).id;
}

export async function suspendIntegration(ctx: ServerContext, integrationId: string): Promise<void> {
  await ctx.db.transaction().execute((trx) => applyIntegrationSuspend(trx, operator, integrationId, 'test: partner compromised', ctx.now()));
}

export async function credentialWorld(backend: Backend): Promise<CredentialWorld> {
  const clock = testClock();
  const server = await startTestServer(backend, {}, { now: clock.now });
  const ctx = server.ctx;
  const A = (await buildLocation(ctx)).id;
  const B = (await buildLocation(ctx)).id;
  const admin = await buildUser(ctx, { role: 'admin', locationIds: [A, B], withTotp: true });
  const shopId = await registerIntegration(ctx, `shop-${A}`.toLowerCase(), [{ locationId: A, permissions: ['orders.write', 'orders.read', 'status.read'] }]);
  // A courier partner delivers other people's orders: it reads every order at its location.
  const courierId = await registerIntegration(ctx, `courier-${B}`.toLowerCase(), [{ locationId: B, permissions: ['status.read', 'orders.read'] }],
    { kind: 'courier', orderVisibility: 'location' });

  let token: string | null = null;
  let signedInAt = 0;
  const adminToken = async () => {
    // Access tokens live 10 minutes and sessions idle out after an hour of the test clock.
    if (!token || clock.now() - signedInAt > 5 * 60_000 || clock.now() < signedInAt) {
      clock.advance(30_000); // a fresh TOTP step: a code is accepted once
      token = (await signIn(server.url, ctx, admin)).tokens.accessToken;
      signedInAt = clock.now();
    }
    return token;
  };
  const world: CredentialWorld = {
    server, ctx, clock, A, B, admin, shopId, courierId,
    asAdmin: async (method, path, body) => restCall(server.url, method, path, { token: await adminToken(), body }),
    machine: (path, credential) => restCall(server.url, 'GET', path, {
      headers: { authorization: typeof credential === 'string' ? `Bearer ${credential}` : credential.authorization },
    }),
    async makeKey(opts = {}) {
      const res = await world.asAdmin('POST', `/integrations/${opts.integrationId ?? shopId}/keys`, {
        name: 'warehouse sync', scopes: opts.scopes ?? ['orders.read', 'status.read'], expiresAt: clock.now() + (opts.days ?? 30) * dayMs,
      });
      if (res.status !== 201) throw new Error(`key create failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: (res.body!.key as { id: string }).id, secret: res.body!.secret as string };
    },
    dispose: () => server.dispose(),
  };
  return world;
}

/** An integration API path that needs `orders.read` at the location (any answer but 401 means the credential was accepted). */
export const readPath = (locationId: string) => `/locations/${locationId}/order-changes`;

export async function auditRows(ctx: ServerContext, action: string) {
  const rows = await ctx.db.selectFrom('audit_log').select(['actor', 'outcome', 'target_id', 'details', 'ip']).where('action', '=', action).orderBy('seq').execute();
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}
