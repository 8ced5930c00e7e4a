/**
 * The e2e test host: test code, never packaged (electron-builder.yml excludes desktop/e2e).
 *
 * The Electron binary cannot be downloaded on these machines, so the console runs in Debian's
 * Chromium instead, and this host stands in for Electron's main process: it runs the real
 * desktop core and the very ConsoleService and BridgeDispatcher main uses, serves the built
 * renderer with the same headers the app:// handler sends, and carries bridge calls over
 * loopback HTTP guarded by a random token, where Electron would use IPC. The page gets a
 * `window.depotline` stand-in for the preload (see `shimScript`), injected by the test through
 * the browser's DevTools protocol, so the token never sits in anything the host serves.
 *
 * Differences from Electron, on purpose and only these: the transport (HTTP + token + Origin
 * instead of IPC + sender frame), and the CSP's connect-src, which must let the stand-in
 * reach this host ('self'); the production policy allows no network at all.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bridgeCallNames, type BridgeEventMessage } from '@depotline/shared';
import type { KeyVault, SessionSecretVault } from '../../src/core';
import { BridgeDispatcher, bridgeHandlersFor, type BridgeSender } from '../../src/main/bridge/dispatch';
import { ConsoleService, type ConsoleServiceOptions } from '../../src/main/service/console-service';
import type { UnlockVerifierVault } from '../../src/main/service/unlock-verifier';
import { resolveAppAsset } from '../../src/main/security/app-assets';
import { securityHeaders } from '../../src/main/security/renderer-policy';
import { tileOriginOf, type MapTilesPolicy } from '../../src/main/service/map-tiles';

export interface TestHostOptions {
  serverUrl: string;
  rendererDir: string;
  profilesDir: string;
  vault: KeyVault & SessionSecretVault;
  verifiers: UnlockVerifierVault;
  idleLockMs?: number;
  /** The depot's tile server, as the managed policy would set it (widens the CSP by its origin, as main does). */
  mapTiles?: MapTilesPolicy;
  service?: Partial<Pick<ConsoleServiceOptions, 'sync' | 'idleCheckMs' | 'log' | 'openExternal' | 'chooseSavePath' | 'chooseOpenPath' | 'now' | 'eta' | 'podOfflineCache' | 'requireEnrolledDevices' | 'deviceKeys' | 'deviceName'>>;
}

export interface TestHost {
  /** The page to open. */
  readonly url: string;
  readonly service: ConsoleService;
  /** JavaScript for `page.addInitScript`: defines `window.depotline` for this host's page only. */
  readonly shimScript: string;
  /** Bridge calls refused (bad token, wrong origin), for assertions. */
  readonly refused: number;
  close(): Promise<void>;
}

const maxBodyBytes = 1024 * 1024;

export async function startTestHost(options: TestHostOptions): Promise<TestHost> {
  const token = crypto.randomBytes(32).toString('base64url');
  const service = new ConsoleService({
    serverUrl: options.serverUrl,
    profilesDir: options.profilesDir,
    vault: options.vault,
    verifiers: options.verifiers,
    idleLockMs: options.idleLockMs ?? 600_000,
    deviceName: 'e2e test host',
    sync: { retryDelayMs: 100, retryDelayMaxMs: 500, ackTimeoutMs: 4000 },
    log: { warn: () => undefined },
    mapTiles: options.mapTiles ?? null,
    ...options.service,
  });
  let origin = '';
  const dispatcher = new BridgeDispatcher(bridgeHandlersFor(service), {
    isTrustedSender: (sender: BridgeSender) => sender.isMainFrame && sender.url === `${origin}/`,
    log: { warn: () => undefined },
  });
  const headers = securityHeaders({ extraConnectSrc: ["'self'"], tileOrigin: tileOriginOf(options.mapTiles) });
  const streams = new Set<http.ServerResponse>();
  const unsubscribe = service.onEvent((message: BridgeEventMessage) => {
    const line = `${JSON.stringify(message)}\n`;
    for (const res of streams) res.write(line);
  });
  let refused = 0;

  const authorized = (req: http.IncomingMessage): boolean => {
    const given = Buffer.from(String(req.headers['x-depotline-bridge'] ?? ''));
    const expected = Buffer.from(token);
    const tokenOk = given.length === expected.length && crypto.timingSafeEqual(given, expected);
    // Browsers send Origin on every POST: a page of any other origin is refused even with the token.
    const originOk = req.headers.origin === origin;
    if (!tokenOk || !originOk) refused++;
    return tokenOk && originOk;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname.startsWith('/__bridge/')) {
      if (req.method !== 'POST' || !authorized(req)) {
        res.writeHead(403).end();
        return;
      }
      if (url.pathname === '/__bridge/events') {
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
        res.flushHeaders();
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      const name = url.pathname.slice('/__bridge/call/'.length);
      readJson(req).then(
        async (body) => {
          const args = typeof body === 'object' && body !== null && 'args' in body ? body.args : undefined;
          const result = await dispatcher.dispatch(name, { url: `${req.headers.origin}/`, isMainFrame: true }, args);
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(result));
        },
        () => res.writeHead(400).end(),
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const asset = resolveAppAsset(options.rendererDir, url.pathname);
    if (!asset || !fs.existsSync(asset.file)) {
      res.writeHead(404, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': asset.contentType });
    res.end(req.method === 'HEAD' ? undefined : fs.readFileSync(asset.file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: `${origin}/`,
    service,
    shimScript: shimSource(origin, token),
    get refused() {
      return refused;
    },
    async close() {
      unsubscribe();
      for (const res of streams) res.end();
      streams.clear();
      await service.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch (err) {
        reject(err instanceof Error ? err : new Error('bad json'));
      }
    });
    req.on('error', reject);
  });
}

/**
 * The stand-in for the preload, as page script. Same shape as the real one: one frozen object,
 * one method per bridge call, plus `on`; the token lives in this closure only.
 */
function shimSource(origin: string, token: string): string {
  return `(() => {
  if (location.origin !== ${JSON.stringify(origin)}) return;
  const token = ${JSON.stringify(token)};
  const post = (path, body) => fetch(path, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-depotline-bridge': token }, body: JSON.stringify(body),
  });
  const api = {};
  for (const name of ${JSON.stringify(bridgeCallNames)}) {
    api[name] = async (args) => (await post('/__bridge/call/' + name, { args: args ?? {} })).json();
  }
  const listeners = new Set();
  (async () => {
    const res = await post('/__bridge/events', {});
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf('\\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line) { const message = JSON.parse(line); for (const l of listeners) l(message); }
      }
    }
  })();
  api.on = (event, listener) => {
    const relay = (message) => { if (message.event === event) listener(message.payload); };
    listeners.add(relay);
    return () => { listeners.delete(relay); };
  };
  Object.defineProperty(window, 'depotline', { value: Object.freeze(api), writable: false, configurable: false, enumerable: false });
})();`;
}
