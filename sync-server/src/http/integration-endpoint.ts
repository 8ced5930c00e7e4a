import type { MachinePermission, OrderVisibility, ProfileField, Stop, IntegrationStopView } from '@depotline/shared';
import type { Request } from 'express';
import type { z } from 'zod';
import type { AccessProfile } from '../access/access-profile';
import { checkPermission } from '../access/authorize';
import { appendAudit, type AuditActor, type AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { asAppError, forbidden, invalidMachineCredential } from '../errors';
import { machineAccessProfile } from '../integrations/access';
import { allowlistDecision } from '../integrations/allowlist';
import { recordUnknownCredentialRefusal } from '../integrations/anomalies';
import { recordIntegrationCall } from '../integrations/call-log';
import { authenticateMachine, type MachinePrincipal } from '../integrations/credentials';
import { presentStopForIntegration, type StopSharing } from '../integrations/profile-filter';
import { findIntegration, integrationLocations, type IntegrationRecord } from '../integrations/records';
import type { EndpointOpenApi } from './endpoint-doc';
import { chargeIntegrationCredential } from './rate-limits';
import { clientIp, type Endpoint, endpointDoc, type EndpointInput, parseRequest, send, withAudit } from './endpoint';

/**
 * The request pipeline of the integration API, declared on each endpoint like `endpoint()`'s
 * (docs/architecture.md), for calls made by outside systems with an API key or OAuth token:
 *
 *   authenticateMachine -> the credential's rate budget -> integration known and not suspended
 *   -> address allowlist -> parse
 *   -> scope (the one authorizer, `checkPermission`, over the machine access profile)
 *   -> transaction -> handler -> present (through the integration's data profile) -> call log
 *
 * Refusals after authentication (suspended, address, scope or location) are audited as the
 * integration (`integration:<name>`) and answered 403 with what was wrong; a refused scope does
 * not say whether the location or record exists. Every call of a known integration, refused or
 * not, goes to the call log (method, route template, status, latency, address; never a body).
 */

type Schema = z.ZodType;

/** The integration making the call, as its handler sees it. */
export interface CallingIntegration {
  id: string;
  name: string;
  /** The fields it may receive: everything sent passes through `presentStop`. */
  profile: readonly ProfileField[];
  /** The locations it holds any scope at (what the credential may use there: `access`). */
  locations: readonly string[];
  /** Which orders it reads there: its own, or every order (integrations/order-reads.ts). */
  orderVisibility: OrderVisibility;
  /** Its kind: a courier is needed to deliver every order it sees (integrations/sharing.ts). */
  kind: string;
}

export interface IntegrationCall<P, Q, B> {
  ctx: ServerContext;
  input: EndpointInput<P, Q, B>;
  integration: CallingIntegration;
  principal: MachinePrincipal;
  /** What this call may do where: the integration's scopes intersected with the credential's, for `checkPermission`. */
  access: AccessProfile;
  /** The location the endpoint's scope named (already authorized). */
  locationId: string;
  ip: string | null;
  now: number;
  /** Records an audit entry as the integration, written with the endpoint's transaction (or alone if it failed). */
  audit: (event: AuditEvent) => void;
  /** The endpoint's transaction, when it declares `transaction: true`; otherwise the database. */
  db: Db;
  /** The stop as this integration may receive it: THE profile filter (integrations/profile-filter.ts). */
  presentStop: (stop: Stop, sharing: StopSharing) => IntegrationStopView;
}

export interface IntegrationEndpointSpec<P, Q, B, R> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Relative to /api/v1, Express form (`/locations/:locationId/orders`). */
  path: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The machine permission the call needs, at the location it acts on (from the parsed input); of a list, any one. */
  scope: (input: EndpointInput<P, Q, B>) => { permission: MachinePermission | readonly MachinePermission[]; locationId: string };
  transaction?: boolean;
  handle: (call: IntegrationCall<P, Q, B>) => Promise<R>;
  /** HTTP status of a success (201 for a create); a function picks it from the result. Default 200. */
  status?: number | ((result: R) => number);
  /** The response body from the handler's result. Stops in it must come from `call.presentStop`. */
  present?: (result: R) => unknown;
  /** Puts the endpoint in the OpenAPI document (http/openapi.ts). */
  openapi?: Omit<EndpointOpenApi, 'security'>;
}

/** The call log's route: the template under /api/v1, never the request's own path. */
const routeOf = (path: string) => `/api/v1${path}`;

const machineActor = (integration: Pick<IntegrationRecord, 'name'>, ip: string | null): AuditActor =>
  ({ userId: null, label: `integration:${integration.name}`, deviceId: null, ip });

async function auditNow(ctx: ServerContext, actor: AuditActor, event: AuditEvent): Promise<void> {
  await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, event, ctx.now()));
}

/** A refused call, audited as the integration; `details` never holds what the caller sent. */
function refusal(integrationId: string, route: string, method: string, locationId: string | null, details: Record<string, unknown>): AuditEvent {
  return {
    action: 'integration.call', outcome: 'denied', targetType: 'integration', targetId: integrationId, locationId,
    details: { route, method: method.toUpperCase(), ...details },
  };
}

/** An endpoint of the integration API. */
export function integrationEndpoint<P extends Schema | undefined = undefined, Q extends Schema | undefined = undefined, B extends Schema | undefined = undefined, R = unknown>(
  spec: IntegrationEndpointSpec<P, Q, B, R>,
): Endpoint {
  const route = routeOf(spec.path);
  return {
    method: spec.method,
    path: spec.path,
    doc: endpointDoc({ ...spec, openapi: spec.openapi ? { ...spec.openapi, security: 'integration' } : undefined }),
    handlers: (ctx) => [async (req: Request, res) => {
      const started = performance.now();
      const ip = clientIp(req);
      // A refused credential names no integration to log the call under: counted per address instead.
      const principal = await authenticateMachine(ctx, req.headers.authorization, ip, ctx.now()).catch((err: unknown) => {
        recordUnknownCredentialRefusal(ctx, ip, ctx.now());
        throw err;
      });
      let status = 500;
      try {
        // The credential's own budget, now that it is known: an OAuth client's tokens share one (http/rate-limits.ts).
        await chargeIntegrationCredential(ctx, res, principal.credential);
        const result = await handleCall(ctx, spec, req, principal, ip, route);
        send(spec, res, result);
        status = res.statusCode;
      } catch (err) {
        status = asAppError(err).status;
        throw err;
      } finally {
        recordIntegrationCall(ctx, {
          integrationId: principal.integrationId, credentialId: principal.credential.id, method: spec.method.toUpperCase(), route,
          status, latencyMs: Math.round(performance.now() - started), ip, at: ctx.now(),
        });
      }
    }],
  };
}

async function handleCall<P, Q, B, R>(
  ctx: ServerContext, spec: IntegrationEndpointSpec<P, Q, B, R>, req: Request, principal: MachinePrincipal, ip: string | null, route: string,
): Promise<R> {
  const now = ctx.now();
  const integration = await findIntegration(ctx.db, { id: principal.integrationId });
  // A credential whose integration is gone is no credential.
  if (!integration) throw invalidMachineCredential();
  const actor = machineActor(integration, ip);
  if (integration.suspendedAt !== null) {
    await auditNow(ctx, actor, refusal(integration.id, route, spec.method, null, { reason: 'suspended' }));
    throw forbidden('This integration is suspended: an admin must resume it before it can call the API.');
  }
  const address = allowlistDecision(integration, ip);
  if (!address.allowed) {
    await auditNow(ctx, actor, refusal(integration.id, route, spec.method, null, { reason: 'address not in the allowlist', callerAddress: address.address }));
    throw forbidden('This address is not in the integration\u2019s allowlist.');
  }
  const input = parseRequest<P, Q, B, unknown>(spec, req);
  const access = machineAccessProfile(integration, principal.scopes, now);
  const scope = spec.scope(input);
  const needs: readonly MachinePermission[] = typeof scope.permission === 'string' ? [scope.permission] : scope.permission;
  if (!needs.some((permission) => checkPermission(access, { permission, locationId: scope.locationId }, now))) {
    await auditNow(ctx, actor, refusal(integration.id, route, spec.method, scope.locationId, { reason: 'scope', permission: needs.join(' or ') }));
    throw forbidden(`The credential does not hold ${needs.join(' or ')} at this location.`);
  }
  const calling: CallingIntegration = {
    id: integration.id, name: integration.name, profile: integration.dataProfile, locations: integrationLocations(integration),
    orderVisibility: integration.orderVisibility, kind: integration.kind,
  };
  const presentStop = (stop: Stop, sharing: StopSharing) => presentStopForIntegration(integration.dataProfile, stop, sharing);
  return withAudit(ctx, actor, (audit, flushInto) => {
    const call = (db: Db): IntegrationCall<P, Q, B> => ({
      ctx, input, integration: calling, principal, access, locationId: scope.locationId, ip, now, audit: (e) => audit(e), db, presentStop,
    });
    if (!spec.transaction) return spec.handle(call(ctx.db));
    return ctx.db.transaction().execute(async (trx) => {
      const r = await spec.handle(call(trx));
      await flushInto(trx);
      return r;
    });
  });
}
