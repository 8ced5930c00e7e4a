/**
 * The socket server speaks WebSocket only (docs/sync-protocol.md "Connecting"): behind a load
 * balancer without sticky sessions, a long-polling session would be split across processes.
 */
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/harness';
import { connectSocket, insertUser, openSession } from '../../test/world';

describe('WebSocket-only socket server', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    token = (await openSession(server.ctx, await insertUser(server.ctx, 'someone'))).token;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('refuses a long-polling handshake and accepts a WebSocket one', async () => {
    const polling = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
    expect(polling.status).toBe(400);
    // A client left at its defaults starts with polling and never gets in.
    const defaults = connect(server.url, { auth: { token }, reconnection: false, forceNew: true });
    const outcome = await new Promise<string>((resolve) => {
      defaults.once('connect', () => resolve('connected'));
      defaults.once('connect_error', () => resolve('refused'));
    });
    defaults.close();
    expect(outcome).toBe('refused');
    const ws = await connectSocket(server.url, token);
    expect(ws.connected).toBe(true);
    ws.close();
  });
});
