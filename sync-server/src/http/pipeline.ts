import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import type { AuditActor } from '../audit/audit-log';
import type { Principal } from '../auth/principal';
import { type AppError, asAppError, badRequest, payloadTooLarge, unauthenticated, zodIssues } from '../errors';
import type { Logger } from '../context';

/**
 * The request pipeline (STYLE.md): authenticate -> validate -> authorize -> transaction ->
 * handler -> presenter. These are the validate and context steps; authentication lives in
 * auth/, authorization in access/.
 */

const principalKey = Symbol('principal');
type WithPrincipal = Request & { [principalKey]?: Principal };

export function setPrincipal(req: Request, principal: Principal): void {
  (req as WithPrincipal)[principalKey] = principal;
}

export function requirePrincipal(req: Request): Principal {
  const p = (req as WithPrincipal)[principalKey];
  if (!p) throw unauthenticated();
  return p;
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(zodIssues(result.error));
  return result.data;
}

export function clientIp(req: Request): string | null {
  return req.ip ?? req.socket.remoteAddress ?? null;
}

export function actorOf(req: Request, principal: Principal | null): AuditActor {
  return {
    userId: principal?.userId ?? null,
    label: principal?.username ?? 'anonymous',
    deviceId: principal?.deviceId ?? null,
    ip: clientIp(req),
  };
}

/** Registered last: one response shape for every error (STYLE.md, Outline's errors.ts). */
export function errorMiddleware(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let appError: AppError;
    const e = err as { type?: string; status?: number };
    if (e?.type === 'entity.too.large') appError = payloadTooLarge();
    else if (e?.type === 'entity.parse.failed' || e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') appError = badRequest(['(body): not valid JSON']);
    else appError = asAppError(err);
    if (appError.code === 'internal') log.error('request failed', { path: req.path, err: String((err as Error)?.stack ?? err) });
    if (appError.extra.retryAfterS !== undefined) res.setHeader('Retry-After', String(appError.extra.retryAfterS));
    res.status(appError.status).json(appError.toBody());
  };
}
