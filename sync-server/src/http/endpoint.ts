import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { type AuthorizationRequest, authorize } from '../access/authorize';
import { type Caller, loadCaller } from '../access/caller';
import { appendAuditEntries, type AuditActor, type AuditEvent } from '../audit/audit-log';
import { authenticateAccessToken } from '../auth/access-tokens';
import { touchSession } from '../auth/session-activity';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { parseInput, unauthenticated } from '../errors';
import type { EndpointDoc, EndpointOpenApi } from './endpoint-doc';

/**
 * The request pipeline, declared on each endpoint so the order of checks is read where the
 * endpoint is (docs/architecture.md):
 *
 *   auth -> parse(schema) -> authorize -> transaction -> handler -> present
 *
 * `auth` verifies the bearer token and the session; `parse` runs the endpoint's schemas over
 * params, query and body (a failure is `bad_request`, nothing else runs); the caller (principal,
 * access profile, audit actor) is built once; `authorize` is the one permission check, audited
 * when it refuses; `transaction` runs the handler in one database transaction; audit entries the
 * handler records are written in that transaction, or on their own when the handler failed, so
 * a refusal is never lost; `present` shapes the answer.
 */

type Schema = z.ZodType;
type Out<S> = S extends Schema ? z.output<S> : undefined;

export interface EndpointInput<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

interface CallBase<P, Q, B> {
  ctx: ServerContext;
  input: EndpointInput<P, Q, B>;
  ip: string | null;
  now: number;
  /** Records an audit entry, written with the endpoint's transaction (or alone if it failed). */
  audit: (event: AuditEvent, actor?: AuditActor) => void;
}

/** What an authenticated handler receives. */
export interface EndpointCall<P, Q, B> extends CallBase<P, Q, B> {
  caller: Caller;
  /** The endpoint's transaction, when it declares `transaction: true`; otherwise the database. */
  db: Db;
}

/** What a public (pre-authentication) handler receives. */
export interface PublicCall<P, Q, B> extends CallBase<P, Q, B> {
  actor: AuditActor;
}

interface Shape<P, Q, B, R> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * HTTP status of a success; 204 sends no body. Default 200. A function picks it from the result
   * (201 for a grant made, 202 for one that waits for approval).
   */
  status?: number | ((result: R) => number);
  /** The response body made from the handler's result. Default: the result itself. */
  present?: (result: R) => unknown;
  /** Writes the response itself instead of `present` (a file download). */
  respond?: (res: Response, result: R) => void;
  /** Puts the endpoint in the OpenAPI document (http/openapi.ts), with the schemas above. */
  openapi?: EndpointOpenApi;
}

export interface EndpointSpec<P, Q, B, R> extends Shape<P, Q, B, R> {
  /** The permission check, from the parsed input. Omitted: the handler checks per record itself. */
  authorize?: (input: EndpointInput<P, Q, B>, caller: Caller) => AuthorizationRequest;
  transaction?: boolean;
  handle: (call: EndpointCall<P, Q, B>) => Promise<R>;
}

export interface PublicEndpointSpec<P, Q, B, R> extends Shape<P, Q, B, R> {
  handle: (call: PublicCall<P, Q, B>) => Promise<R>;
}

export interface Endpoint {
  method: Shape<unknown, unknown, unknown, unknown>['method'];
  path: string;
  handlers: (ctx: ServerContext) => RequestHandler[];
  /** Set for the endpoints the OpenAPI document describes. */
  doc?: EndpointDoc;
}

/** The document entry of an endpoint that declares `openapi`, built from the schemas its pipeline parses with. */
export function endpointDoc(spec: { method: EndpointDoc['method']; path: string; params?: unknown; query?: unknown; body?: unknown; openapi?: EndpointOpenApi }): EndpointDoc | undefined {
  if (!spec.openapi) return undefined;
  const schema = (s: unknown) => (s ? (s as Schema) : undefined);
  return { ...spec.openapi, method: spec.method, path: spec.path, params: schema(spec.params), query: schema(spec.query), body: schema(spec.body) };
}

export function clientIp(req: Request): string | null {
  return req.ip ?? req.socket.remoteAddress ?? null;
}

export function parseRequest<P, Q, B, R>(spec: Pick<Shape<P, Q, B, R>, 'params' | 'query' | 'body'>, req: Request): EndpointInput<P, Q, B> {
  const parse = (schema: unknown, value: unknown) => (schema ? parseInput(schema as Schema, value) : undefined);
  return {
    params: parse(spec.params, req.params) as Out<P>,
    query: parse(spec.query, req.query) as Out<Q>,
    body: parse(spec.body, req.body) as Out<B>,
  };
}

export function send<R>(spec: Pick<Shape<unknown, unknown, unknown, R>, 'respond' | 'status' | 'present'>, res: Response, result: R): void {
  if (spec.respond) return spec.respond(res, result);
  const status = typeof spec.status === 'function' ? spec.status(result) : spec.status ?? 200;
  if (status === 204) res.status(204).end();
  else res.status(status).json(spec.present ? spec.present(result) : result);
}

/** Runs `work` with an audit recorder whose entries are never lost, whatever `work` does. */
export async function withAudit<R>(ctx: ServerContext, defaultActor: AuditActor, work: (audit: CallBase<unknown, unknown, unknown>['audit'], flushInto: (db: Db) => Promise<void>) => Promise<R>): Promise<R> {
  const pending: { actor: AuditActor; event: AuditEvent }[] = [];
  const audit = (event: AuditEvent, actor: AuditActor = defaultActor) => void pending.push({ actor, event });
  const flushInto = async (db: Db) => {
    const entries = pending.splice(0);
    if (entries.length > 0) await appendAuditEntries(db, entries, ctx.now());
  };
  try {
    return await work(audit, flushInto);
  } finally {
    if (pending.length > 0) await ctx.db.transaction().execute((trx) => flushInto(trx));
  }
}

// RFC 7235: the scheme name is case-insensitive; the token is RFC 6750's b64token.
const bearer = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * `Authorization: Bearer <access token>` only. A token in the query string or body is never
 * read: URLs land in proxy and server logs (RFC 6750 section 5.3). The idle check happens in
 * `authenticateAccessToken` before the touch, so an idle session cannot be revived by using it.
 */
async function authenticateRequest(ctx: ServerContext, req: Request): Promise<Principal> {
  const match = req.headers.authorization ? bearer.exec(req.headers.authorization) : null;
  if (!match) throw unauthenticated();
  const principal = await authenticateAccessToken(ctx, match[1]!);
  await touchSession(ctx, principal.sessionId);
  return principal;
}

/** An endpoint for a signed-in caller. */
export function endpoint<P extends Schema | undefined = undefined, Q extends Schema | undefined = undefined, B extends Schema | undefined = undefined, R = unknown>(
  spec: EndpointSpec<P, Q, B, R>,
): Endpoint {
  return {
    method: spec.method,
    path: spec.path,
    doc: endpointDoc(spec),
    handlers: (ctx) => [async (req, res) => {
      const principal = await authenticateRequest(ctx, req);
      const input = parseRequest(spec, req);
      const ip = clientIp(req);
      const caller = await loadCaller(ctx, principal, ip);
      const now = ctx.now();
      if (spec.authorize) await authorize(ctx, caller.actor, caller.profile, spec.authorize(input, caller));
      const result = await withAudit(ctx, caller.actor, (audit, flushInto) => {
        const call = (db: Db): EndpointCall<P, Q, B> => ({ ctx, input, ip, now, audit, caller, db });
        if (!spec.transaction) return spec.handle(call(ctx.db));
        return ctx.db.transaction().execute(async (trx) => {
          const r = await spec.handle(call(trx));
          await flushInto(trx);
          return r;
        });
      });
      send(spec, res, result);
    }],
  };
}

/** An endpoint reached before signing in (sign-in itself, token refresh). */
export function publicEndpoint<P extends Schema | undefined = undefined, Q extends Schema | undefined = undefined, B extends Schema | undefined = undefined, R = unknown>(
  spec: PublicEndpointSpec<P, Q, B, R>,
): Endpoint {
  return {
    method: spec.method,
    path: spec.path,
    doc: endpointDoc(spec),
    handlers: (ctx) => [async (req, res) => {
      const input = parseRequest(spec, req);
      const ip = clientIp(req);
      const actor: AuditActor = { userId: null, label: 'anonymous', deviceId: null, ip };
      const result = await withAudit(ctx, actor, (audit) => spec.handle({ ctx, input, ip, now: ctx.now(), audit, actor }));
      send(spec, res, result);
    }],
  };
}

export function mountEndpoints(router: Router, ctx: ServerContext, endpoints: readonly Endpoint[]): void {
  for (const e of endpoints) router[e.method](e.path, ...e.handlers(ctx));
}
