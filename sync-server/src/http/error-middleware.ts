import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../context';
import { type AppError, asAppError, badRequest, payloadTooLarge } from '../errors';

/** A path fit for the log: a tracking link's token (`/t/<token>`, a secret) becomes `:token`. */
export const loggablePath = (path: string) => path.replace(/^\/t\/(?!assets(?:\/|$))[^/]+/, '/t/:token');

/** Registered last: one response shape for every error, with its stable code (docs/api.md). */
export function errorMiddleware(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let appError: AppError;
    const e = err as { type?: string; status?: number };
    if (e?.type === 'entity.too.large') appError = payloadTooLarge();
    else if (e?.type === 'entity.parse.failed' || e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') appError = badRequest(['(body): not valid JSON']);
    else appError = asAppError(err);
    if (appError.code === 'internal') log.error('request failed', { path: loggablePath(req.path), err: String((err as Error)?.stack ?? err) });
    if (appError.extra.retryAfterS !== undefined) res.setHeader('Retry-After', String(appError.extra.retryAfterS));
    for (const [name, value] of Object.entries(appError.headers)) res.setHeader(name, value);
    res.status(appError.status).json(appError.toBody());
  };
}
