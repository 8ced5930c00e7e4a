import http from 'node:http';
import https from 'node:https';
import { type SignedHeaders } from './signing';
import { connectRefusal, guardedLookup, type TargetPolicy, WebhookTargetRefused } from './ssrf';

/**
 * One POST of a signed webhook (Standard Webhooks, "Delivery"): JSON body, the three signature
 * headers, a total timeout, no redirects followed (a 3xx is a failure: the receiver's answer is
 * not a place to be sent on to), and the connection made only to an address the SSRF guard
 * checked (ssrf.ts). The receiver's answer body is read up to a small limit and dropped: nothing
 * it says is stored.
 */

/**
 * Why an attempt failed, as the attempt log records it (never the receiver's body). `internal`:
 * the server could not build the delivery (nothing was sent).
 */
export type AttemptError = 'http' | 'redirect' | 'timeout' | 'connect' | 'address_refused' | 'tls' | 'internal';

export type AttemptOutcome =
  | { ok: true; statusCode: number; latencyMs: number }
  | { ok: false; statusCode: number | null; error: AttemptError; latencyMs: number; detail: string };

const maxAnswerBytes = 64 * 1024;
const userAgent = 'Depotline-Webhooks/1';

/** Kept-alive connections per scheme: each was checked by the guard when it was made. */
export interface WebhookAgents {
  http: http.Agent;
  https: https.Agent;
  destroy(): void;
}

export function createWebhookAgents(maxSockets: number): WebhookAgents {
  const options = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 16), timeout: 30_000 };
  const agents = { http: new http.Agent(options), https: new https.Agent({ ...options, minVersion: 'TLSv1.2' as const }) };
  return { ...agents, destroy: () => { agents.http.destroy(); agents.https.destroy(); } };
}

function failureOf(err: unknown): { error: AttemptError; detail: string } {
  if (err instanceof WebhookTargetRefused) return { error: 'address_refused', detail: err.reason };
  const code = (err as NodeJS.ErrnoException | null)?.code ?? '';
  const detail = code || (err instanceof Error ? err.message : String(err));
  if (/^(ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_SSL|EPROTO)/.test(code)) return { error: 'tls', detail };
  return { error: 'connect', detail };
}

/**
 * Sends `body` to `url`. Resolves with the outcome; never throws. `signal` aborts it (the worker
 * stopping): then the outcome is a `connect` failure the caller does not record.
 */
export function postWebhook(
  url: URL, body: string, headers: SignedHeaders, options: { policy: TargetPolicy; timeoutMs: number; agents: WebhookAgents; signal?: AbortSignal },
): Promise<AttemptOutcome> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  const refused = connectRefusal(url, options.policy);
  if (refused) return Promise.resolve({ ok: false, statusCode: null, error: 'address_refused', latencyMs: 0, detail: refused });
  const secure = url.protocol === 'https:';
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const request = (secure ? https : http).request(url, {
      method: 'POST',
      agent: secure ? options.agents.https : options.agents.http,
      lookup: guardedLookup(url, options.policy),
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': userAgent, ...headers },
      ...(options.signal ? { signal: options.signal } : {}),
    }, (res) => {
      const statusCode = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > maxAnswerBytes) res.destroy();
      });
      const done = () => {
        if (statusCode >= 200 && statusCode < 300) settle({ ok: true, statusCode, latencyMs: latency() });
        else if (statusCode >= 300 && statusCode < 400) settle({ ok: false, statusCode, error: 'redirect', latencyMs: latency(), detail: 'redirects are not followed' });
        else settle({ ok: false, statusCode, error: 'http', latencyMs: latency(), detail: `HTTP ${statusCode}` });
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    const timer = setTimeout(() => {
      settle({ ok: false, statusCode: null, error: 'timeout', latencyMs: latency(), detail: `no answer within ${options.timeoutMs} ms` });
      request.destroy();
    }, options.timeoutMs);
    request.on('error', (err) => settle({ ok: false, statusCode: null, latencyMs: latency(), ...failureOf(err) }));
    request.end(body);
  });
}
