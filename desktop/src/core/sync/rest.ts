import { ErrorBody } from '@depotline/shared';
import type { z } from 'zod';
import { ServerDataRejectedError, ServerRequestError, ServerUnreachableError } from '../errors';
import type { ServerNetwork } from './server-network';

export interface RestOptions {
  timeoutMs?: number;
  /** The managed policy's pinned certificate and proxy; absent: the system's trust store, no proxy. */
  network?: ServerNetwork | undefined;
}

export type RestMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RestRequest {
  body?: unknown;
  /** The session's access token; sent only as `Authorization: Bearer` (docs/api.md). */
  accessToken?: string;
}

/**
 * The one way the core speaks REST to the sync server: no redirects (a redirect could carry a
 * bearer token to another host), a timeout, the server's error codes as `ServerRequestError`,
 * and every answer parsed with its shared schema. An answer that does not parse is refused,
 * never half-used.
 */
export class RestTransport {
  readonly #base: URL;
  readonly #timeoutMs: number;
  readonly #network: ServerNetwork | null;

  constructor(serverUrl: URL, options: RestOptions = {}) {
    this.#base = serverUrl;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#network = options.network ?? null;
  }

  /** A call whose answer is a JSON body parsed with `schema`. */
  async json<S extends z.ZodType>(method: RestMethod, path: string, schema: S, request: RestRequest = {}): Promise<z.infer<S>> {
    const res = await this.#send(method, path, request);
    const parsed = schema.safeParse(await readJson(res));
    if (!parsed.success) throw new ServerDataRejectedError(`the answer to ${method} ${redactIds(path)} does not match its schema`);
    return parsed.data;
  }

  /**
   * A call answered either with a file (an export) or with a JSON body parsed with `schema`
   * (an export held for approval answers `202` with the request). The file is read whole, up
   * to `maxBytes`; a bigger one is refused rather than cut short.
   */
  async fileOrJson<S extends z.ZodType>(method: RestMethod, path: string, schema: S, request: RestRequest & { maxBytes: number }): Promise<FileOrJson<z.infer<S>>> {
    const res = await this.#send(method, path, request);
    const contentType = res.headers.get('content-type') ?? '';
    if (/^application\/json\b/i.test(contentType)) {
      const parsed = schema.safeParse(await readJson(res));
      if (!parsed.success) throw new ServerDataRejectedError(`the answer to ${method} ${redactIds(path)} does not match its schema`);
      return { kind: 'json', status: res.status, body: parsed.data };
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > request.maxBytes) throw new ServerDataRejectedError(`the file answering ${method} ${redactIds(path)} is larger than this console accepts`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > request.maxBytes) throw new ServerDataRejectedError(`the file answering ${method} ${redactIds(path)} is larger than this console accepts`);
    return { kind: 'file', status: res.status, bytes, contentType, fileName: fileNameOf(res.headers.get('content-disposition')), headers: res.headers };
  }

  /** A call answered `204` (or whose body is not used). */
  async empty(method: RestMethod, path: string, request: RestRequest = {}): Promise<void> {
    await this.#send(method, path, request);
  }

  async #send(method: RestMethod, path: string, request: RestRequest): Promise<Response> {
    const headers: Record<string, string> = {};
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (request.accessToken !== undefined) headers['authorization'] = `Bearer ${request.accessToken}`;
    let res: Response;
    try {
      const url = new URL(path, this.#base);
      const signal = AbortSignal.timeout(this.#timeoutMs);
      const body = request.body !== undefined ? { body: JSON.stringify(request.body) } : {};
      // A managed pin or proxy (server-network.ts) takes the request; otherwise the platform's fetch.
      res = this.#network
        ? await this.#network.fetch(url, { method, headers, signal, ...body })
        : await fetch(url, { method, headers, redirect: 'error', signal, ...body });
    } catch (err) {
      throw new ServerUnreachableError(err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'network error', { cause: err });
    }
    if (res.ok) return res;
    const body = ErrorBody.safeParse(await readJson(res).catch(() => null));
    if (!body.success) throw new ServerRequestError(res.status >= 500 ? 'internal' : res.status === 404 ? 'not_found' : 'bad_request', `the server answered HTTP ${res.status}`);
    // Schema problems name the field and the rule ("to: the range covers 40 days; ..."), never a value sent.
    const { code, message, issues, retryAfterS } = body.data.error;
    const detail = issues && issues.length > 0 ? `${message} (${issues.slice(0, 3).join('; ').slice(0, 500)})` : message;
    throw new ServerRequestError(code, detail, retryAfterS ?? null);
  }
}

export type FileOrJson<T> =
  | { kind: 'json'; status: number; body: T }
  | { kind: 'file'; status: number; bytes: Uint8Array; contentType: string; fileName: string | null; headers: Headers };

/**
 * The plain file name a `Content-Disposition` suggests (RFC 6266), or null. Only the last path
 * part is kept, so a name like `../../x` cannot pick where the file goes; the user picks that.
 */
export function fileNameOf(disposition: string | null): string | null {
  if (!disposition) return null;
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
  let name: string;
  try {
    name = extended ? decodeURIComponent(extended[1]!.trim()) : plain ? plain[1]!.trim() : '';
  } catch {
    return null;
  }
  name = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  name = name.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_').trim();
  return name && name !== '.' && name !== '..' ? name.slice(0, 200) : null;
}

/** A path segment from an id the server gave us: encoded, so an odd id cannot walk the path. */
export const segment = (id: string) => encodeURIComponent(id);

/** Error texts name the endpoint, not the record: ids stay out of logs. */
const redactIds = (path: string) => path.replace(/\/[^/?]*[0-9][^/?]*(?=\/|$|\?)/g, '/:id');

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ServerDataRejectedError('the server answered with something that is not JSON');
  }
}
