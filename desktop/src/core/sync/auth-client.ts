import {
  ErrorBody, LoginResponse, SessionTokens, type LoginRequest, type MfaEnrollConfirm, type RefreshRequest,
} from '@depotline/shared';
import type { z } from 'zod';
import { ServerDataRejectedError, ServerRequestError, ServerUnreachableError } from '../errors';

/**
 * The sync server's REST auth API (`/api/v1/auth/*`). Every answer is parsed with its shared
 * schema; an answer that does not parse is refused, never half-used.
 */
export class AuthClient {
  readonly #base: URL;
  readonly #timeoutMs: number;

  constructor(serverUrl: URL, options: { timeoutMs?: number } = {}) {
    this.#base = serverUrl;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  login(body: LoginRequest): Promise<LoginResponse> {
    return this.#post('/api/v1/auth/login', body, LoginResponse);
  }

  confirmMfa(body: MfaEnrollConfirm): Promise<LoginResponse> {
    return this.#post('/api/v1/auth/mfa/confirm', body, LoginResponse);
  }

  /** Rotates the refresh token: the one sent is spent, keep the returned one. */
  refresh(body: RefreshRequest): Promise<SessionTokens> {
    return this.#post('/api/v1/auth/refresh', body, SessionTokens);
  }

  async logout(accessToken: string): Promise<void> {
    await this.#request('/api/v1/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
  }

  async #post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    const res = await this.#request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const parsed = schema.safeParse(await readJson(res));
    if (!parsed.success) throw new ServerDataRejectedError(`the answer to ${path} does not match its schema`);
    return parsed.data;
  }

  async #request(path: string, init: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.#base), { ...init, redirect: 'error', signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw new ServerUnreachableError(err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'network error', { cause: err });
    }
    if (res.ok) return res;
    const body = ErrorBody.safeParse(await readJson(res).catch(() => null));
    if (!body.success) throw new ServerRequestError(res.status >= 500 ? 'internal' : 'bad_request', `the server answered HTTP ${res.status}`);
    throw new ServerRequestError(body.data.error.code, body.data.error.message, body.data.error.retryAfterS ?? null);
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ServerDataRejectedError('the server answered with something that is not JSON');
  }
}
