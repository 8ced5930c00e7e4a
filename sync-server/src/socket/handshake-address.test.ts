/**
 * The address a socket is audited under, behind a proxy and without one: a refused handshake's
 * audit entry names the client, and a client cannot choose its own address with a header unless
 * the server is told a proxy sets it (TRUST_PROXY_HOPS).
 */
import { io as connect } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/harness';
import { clientAddressOf } from './socket-server';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.dispose();
  server = null;
});

/** A handshake with a token that is not one, sent with `X-Forwarded-For: forwarded`; resolves once refused. */
function refusedHandshake(url: string, forwarded: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: 'not-a-token' }, extraHeaders: { 'x-forwarded-for': forwarded } });
    s.on('connect', () => reject(new Error('connected with a bad token')));
    s.on('connect_error', () => {
      s.close();
      resolve();
    });
  });
}

const failedConnectIps = async (srv: TestServer) =>
  (await srv.ctx.db.selectFrom('audit_log').select('ip').where('action', '=', 'socket.connect').where('outcome', '=', 'failed').execute()).map((r) => r.ip);

describe('the address of a socket client', () => {
  it('behind one trusted proxy, the forwarded address is audited; failed handshakes are coalesced per client, not per proxy', async () => {
    server = await startTestServer('sqlite', { trustProxyHops: 1 });
    await refusedHandshake(server.url, '203.0.113.7');
    await refusedHandshake(server.url, '203.0.113.7');
    await refusedHandshake(server.url, '198.51.100.9');
    expect((await failedConnectIps(server)).sort()).toEqual(['198.51.100.9', '203.0.113.7']);
  });

  it('with no proxy trusted, a client cannot pick its address with the header', async () => {
    server = await startTestServer('sqlite', { trustProxyHops: 0 });
    await refusedHandshake(server.url, '203.0.113.7');
    const ips = await failedConnectIps(server);
    expect(ips).toHaveLength(1);
    expect(ips[0]).not.toBe('203.0.113.7');
    expect(ips[0]).toMatch(/127\.0\.0\.1$/);
  });

  it('counts hops from the right, as the REST API does', () => {
    const req = (remote: string, xff?: string) => ({ socket: { remoteAddress: remote }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } });
    expect(clientAddressOf(req('10.0.0.2', '1.1.1.1, 2.2.2.2'), 0)).toBe('10.0.0.2');
    expect(clientAddressOf(req('10.0.0.2', '1.1.1.1, 2.2.2.2'), 1)).toBe('2.2.2.2');
    expect(clientAddressOf(req('10.0.0.2', '1.1.1.1, 2.2.2.2'), 2)).toBe('1.1.1.1');
    expect(clientAddressOf(req('10.0.0.2', '1.1.1.1'), 3)).toBe('1.1.1.1');
    expect(clientAddressOf(req('10.0.0.2'), 1)).toBe('10.0.0.2');
  });
});
