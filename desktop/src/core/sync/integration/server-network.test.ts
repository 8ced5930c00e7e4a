import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../../../../../sync-server/test/harness';
import { ServerUnreachableError } from '../../errors';
import { requireTestKeyring } from '../../testing/keyring';
import { makeTempDir } from '../../testing/temp-dir';
import { ServerNetwork, ServerPinMismatchError } from '../server-network';
import { buildLocation, buildUser, openCore, startCore, startServer, type Core } from './sync-fixture';

/** A self-signed certificate for 127.0.0.1, made with the system's openssl. */
function selfSigned(dir: string, name: string): { certFile: string; keyFile: string; pem: string; spki: string } {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  const pem = fs.readFileSync(certFile, 'utf8');
  const spki = crypto.createHash('sha256').update(new crypto.X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { certFile, keyFile, pem, spki };
}

/** A real HTTP CONNECT proxy on loopback that records every tunnel it opens. */
async function startConnectProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('the managed policy\'s pinned certificate and proxy, against a real TLS sync-server', () => {
  beforeAll(requireTestKeyring);
  const tmp = makeTempDir();
  const certs = { server: selfSigned(tmp.dir, 'depot'), other: selfSigned(tmp.dir, 'impostor') };
  let server: TestServer;
  let locationId: string;
  const cores: Core[] = [];
  const networks: ServerNetwork[] = [];

  beforeAll(async () => {
    server = await startServer({ tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile } });
    locationId = (await buildLocation(server.ctx)).id;
  });
  afterAll(async () => {
    await server.dispose();
    tmp.remove();
  });
  afterEach(async () => {
    for (const c of cores.splice(0)) await c.dispose();
    for (const n of networks.splice(0)) n.destroy();
  });

  const network = (options: ConstructorParameters<typeof ServerNetwork>[0]) => {
    const n = new ServerNetwork(options);
    networks.push(n);
    return n;
  };
  const user = () => buildUser(server.ctx, { role: 'dispatcher', locationIds: [locationId] });
  /** Signs in over REST and goes live over the socket: both must take the pinned trust. */
  const goLive = async (net: ServerNetwork) => {
    const c = await startCore(server.url, tmp.dir, await user(), { client: { network: net } });
    cores.push(c);
    return c;
  };
  const refusedSignIn = async (net: ServerNetwork | undefined) => {
    const err: unknown = await openCore(server.url, tmp.dir, await user(), { client: net ? { network: net } : {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerUnreachableError);
    return (err as Error).cause;
  };

  it('the server is https and, self-signed, is refused with the system\'s trust', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    await refusedSignIn(undefined);
  });

  it('a pinned CA file (the server\'s own certificate) is accepted by REST and the socket', async () => {
    const c = await goLive(network({ caPem: certs.server.pem }));
    expect(c.client.status.connection).toBe('live');
  });

  it('another certificate pinned: the server is refused', async () => {
    const cause = await refusedSignIn(network({ caPem: certs.other.pem }));
    expect(String(cause)).toMatch(/self.signed|unable to verify|certificate/i);
  });

  it('an SPKI pin of the server\'s key is accepted; a pin of another key is refused even though the chain validates', async () => {
    await goLive(network({ caPem: certs.server.pem, spkiSha256: [certs.other.spki, certs.server.spki] }));
    const cause = await refusedSignIn(network({ caPem: certs.server.pem, spkiSha256: [certs.other.spki] }));
    expect(cause).toBeInstanceOf(ServerPinMismatchError);
  });

  it('the proxy carries the sign-in and the socket (a real CONNECT proxy sees both tunnels); a bypassed host goes direct', async () => {
    const proxy = await startConnectProxy();
    try {
      const authority = new URL(server.url).host;
      await goLive(network({ caPem: certs.server.pem, proxyUrl: proxy.url }));
      // At least one tunnel for REST (kept alive) and one for the WebSocket.
      expect(proxy.tunnels.length).toBeGreaterThanOrEqual(2);
      expect(new Set(proxy.tunnels)).toEqual(new Set([authority]));

      const before = proxy.tunnels.length;
      await goLive(network({ caPem: certs.server.pem, proxyUrl: proxy.url, proxyBypass: ['localhost', '127.0.0.1'] }));
      expect(proxy.tunnels.length).toBe(before);
    } finally {
      await proxy.close();
    }
  });

  it('through the proxy the pin still holds: another certificate is refused inside the tunnel', async () => {
    const proxy = await startConnectProxy();
    try {
      await refusedSignIn(network({ caPem: certs.other.pem, proxyUrl: proxy.url }));
      expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.close();
    }
  });

  it('a proxy that refuses the tunnel makes the server unreachable, never a direct connection', async () => {
    const refusing = http.createServer();
    refusing.on('connect', (_req: http.IncomingMessage, client: net.Socket) => client.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const cause = await refusedSignIn(network({ caPem: certs.server.pem, proxyUrl: `http://127.0.0.1:${(refusing.address() as net.AddressInfo).port}` }));
      expect(String(cause)).toMatch(/403/);
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });
});
