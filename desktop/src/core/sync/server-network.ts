import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

/**
 * How the core reaches the sync server when IT's managed policy says more than "the system's
 * defaults": which certificates it trusts and which proxy it goes through. One object serves the
 * REST transport (rest.ts) and the Socket.IO channel (sync-channel.ts), so both accept exactly
 * the same server and take exactly the same route.
 */
export interface ServerNetworkOptions {
  /**
   * PEM text of the CA (or the self-signed server certificate) the server's chain must end in.
   * It replaces the system's roots for the sync server: nothing else is trusted.
   */
  caPem?: string;
  /**
   * SHA-256 of a SubjectPublicKeyInfo, base64 (the HPKP / `openssl ... | openssl dgst -sha256
   * -binary | base64` form). The server's chain must also validate; one of its certificates must
   * carry one of these keys (RFC 7469 section 2.6: the pin is checked on the validated chain).
   */
  spkiSha256?: readonly string[];
  /** An `http://` or `https://` proxy reached with CONNECT; user:password in it becomes Proxy-Authorization. */
  proxyUrl?: string;
  /** Hosts that go direct: `depot.example`, `.example` / `*.example` (any subdomain), `10.0.0.5`, `host:8443`. */
  proxyBypass?: readonly string[];
}

export class ServerPinMismatchError extends Error {
  override readonly name = 'ServerPinMismatchError' as const;
}

export interface SocketTlsOptions {
  agent?: http.Agent;
  ca?: string;
  checkServerIdentity?: typeof tls.checkServerIdentity;
  rejectUnauthorized: true;
}

export class ServerNetwork {
  readonly #tls: { ca?: string; checkServerIdentity?: typeof tls.checkServerIdentity };
  readonly #proxy: URL | null;
  readonly #bypass: readonly string[];
  readonly #agents = new Map<string, http.Agent>();

  constructor(options: ServerNetworkOptions = {}) {
    const pins = options.spkiSha256 ?? [];
    this.#tls = {
      ...(options.caPem !== undefined ? { ca: options.caPem } : {}),
      ...(pins.length > 0 ? { checkServerIdentity: pinnedIdentityCheck(pins) } : {}),
    };
    this.#proxy = options.proxyUrl ? new URL(options.proxyUrl) : null;
    if (this.#proxy && this.#proxy.protocol !== 'http:' && this.#proxy.protocol !== 'https:') throw new Error('the proxy must be an http:// or https:// URL');
    this.#bypass = (options.proxyBypass ?? []).map((entry) => entry.trim().toLowerCase()).filter(Boolean);
  }

  /** Whether a request to `target` goes through the proxy. */
  proxiedFor(target: URL): boolean {
    return this.#proxy !== null && !bypasses(this.#bypass, target);
  }

  /** The Socket.IO client's transport options (engine.io-client hands them to `ws`). */
  socketOptions(target: URL): SocketTlsOptions {
    return { ...this.#tls, rejectUnauthorized: true, agent: this.#agentFor(target) };
  }

  /**
   * A `fetch` for the REST transport over node:http(s) with this network's agent: the global
   * fetch (undici) cannot take an http.Agent, and one tunnel and trust setting for both the socket
   * and REST beats two. Redirects are refused, as with fetch's `redirect: 'error'`.
   */
  fetch(url: URL, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }): Promise<Response> {
    const secure = url.protocol === 'https:';
    return new Promise<Response>((resolve, reject) => {
      const signal = init.signal;
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const req = (secure ? https : http).request(url, { method: init.method, headers: init.headers, agent: this.#agentFor(url), ...(secure ? this.#tls : {}) }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          reject(new TypeError(`redirect refused (HTTP ${status})`));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
          }
          const body = status === 204 || status === 205 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, headers }));
        });
      });
      const abort = () => {
        req.destroy();
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', abort, { once: true });
      req.on('close', () => signal?.removeEventListener('abort', abort));
      req.on('error', reject);
      req.end(init.body);
    });
  }

  /** Closes kept-alive connections (and tunnels). */
  destroy(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  #agentFor(target: URL): http.Agent {
    const secure = target.protocol === 'https:';
    const proxied = this.proxiedFor(target);
    const key = `${secure ? 's' : 'p'}${proxied ? 'x' : 'd'}`;
    const known = this.#agents.get(key);
    if (known) return known;
    const proxy = this.#proxy;
    const agent: http.Agent = proxy && proxied
      ? (secure ? new TunnelingHttpsAgent(proxy, this.#tls) : new TunnelingHttpAgent(proxy))
      : (secure ? new https.Agent({ keepAlive: true, ...this.#tls }) : new http.Agent({ keepAlive: true }));
    this.#agents.set(key, agent);
    return agent;
  }
}

/** The SPKI SHA-256 (base64) of a certificate, as pinned (DER SubjectPublicKeyInfo; `pubkey` is not that for EC keys). */
export function spkiSha256Of(cert: { raw?: Buffer }): string | null {
  if (!cert.raw) return null;
  const spki = new crypto.X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(spki).digest('base64');
}

function pinnedIdentityCheck(pins: readonly string[]): typeof tls.checkServerIdentity {
  const wanted = new Set(pins);
  return (host, cert) => {
    const hostError = tls.checkServerIdentity(host, cert);
    if (hostError) return hostError;
    // Node passes the detailed certificate: walk the chain up to the root (a self-issued root points at itself).
    const seen = new Set<unknown>();
    for (let c: tls.DetailedPeerCertificate | undefined = cert as tls.DetailedPeerCertificate; c && !seen.has(c); c = c.issuerCertificate) {
      seen.add(c);
      const pin = spkiSha256Of(c);
      if (pin && wanted.has(pin)) return undefined;
    }
    return new ServerPinMismatchError(`the server's certificate for ${host} does not carry a key pinned by the managed policy`);
  };
}

function bypasses(list: readonly string[], target: URL): boolean {
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  return list.some((entry) => {
    if (entry === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\[|\](?=:|$)/g, ''))!;
    const pattern = m[1]!;
    if (m[2] && m[2] !== port) return false;
    if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
    if (pattern.startsWith('.')) return host.endsWith(pattern) || host === pattern.slice(1);
    return host === pattern;
  });
}

/** Opens a CONNECT tunnel to `host:port` through the proxy and hands back the raw socket. */
function openTunnel(proxy: URL, host: string, port: number, callback: (err: Error | null, socket?: Duplex) => void): void {
  const proxyPort = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
  const socket: net.Socket = proxy.protocol === 'https:'
    ? tls.connect({ host: proxy.hostname, port: proxyPort, servername: net.isIP(proxy.hostname) ? '' : proxy.hostname })
    : net.connect({ host: proxy.hostname, port: proxyPort });
  const authority = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  const auth = proxy.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n` : '';
  let buffered = Buffer.alloc(0);
  const fail = (err: Error) => {
    socket.destroy();
    callback(err);
  };
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buffered.length > 16_384) fail(new Error('the proxy answered CONNECT with oversized headers'));
      return;
    }
    socket.off('data', onData);
    socket.off('error', fail);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(buffered.subarray(0, end).toString('latin1'))?.[1];
    if (status !== '200') {
      fail(new Error(`the proxy refused the tunnel to ${authority} (HTTP ${status ?? '?'})`));
      return;
    }
    // Anything after the headers belongs to the tunnel (the proxy sends nothing before we do).
    if (buffered.length > end + 4) socket.unshift(buffered.subarray(end + 4));
    callback(null, socket);
  };
  socket.on('data', onData);
  socket.once('error', fail);
  socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
  });
}

type ConnectOptions = http.ClientRequestArgs & tls.ConnectionOptions;
/** Node's Agent callback; on failure it is called with the error alone. */
type Created = (err: Error | null, stream: Duplex) => void;
const failed = (callback: Created | undefined, err: Error) => callback?.(err, undefined as unknown as Duplex);

/**
 * https through a CONNECT tunnel: Node's Agent accepts a socket handed to the `createConnection`
 * callback (node:http docs, `agent.createConnection`), so the tunnel is opened first and TLS to
 * the server runs inside it with the same trust settings as a direct connection.
 */
class TunnelingHttpsAgent extends https.Agent {
  constructor(private readonly proxy: URL, private readonly trust: tls.ConnectionOptions) {
    super({ keepAlive: true });
  }

  override createConnection(options: ConnectOptions, callback?: Created): Duplex | undefined {
    const host = options.host ?? 'localhost';
    openTunnel(this.proxy, host, Number(options.port ?? 443), (err, raw) => {
      if (err || !raw) {
        failed(callback, err ?? new Error('no tunnel'));
        return;
      }
      const { agent: _agent, ...connect } = options;
      const secure = tls.connect({ ...connect, ...this.trust, socket: raw, servername: options.servername ?? (net.isIP(host) ? '' : host), rejectUnauthorized: true });
      callback?.(null, secure);
    });
    return undefined;
  }
}

/** Plain http through a CONNECT tunnel (only a loopback server is plain http, and that is normally bypassed). */
class TunnelingHttpAgent extends http.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: true });
  }

  override createConnection(options: ConnectOptions, callback?: Created): Duplex | undefined {
    openTunnel(this.proxy, options.host ?? 'localhost', Number(options.port ?? 80), (err, raw) => (err || !raw ? failed(callback, err ?? new Error('no tunnel')) : callback?.(null, raw)));
    return undefined;
  }
}
