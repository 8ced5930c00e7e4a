import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type ServerOptions } from 'socket.io';

export interface BareServer {
  url: string;
  /** The Socket.IO server, for callers that attach an adapter or count sockets. */
  io: Server;
  close(): Promise<void>;
}

export interface BareServerOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** A cross-process adapter (the relay cluster's Redis streams adapter); default: in-memory. */
  adapter?: ServerOptions['adapter'];
}

/**
 * The fan-out baseline of issue 5: a Socket.IO server that only rebroadcasts to a room. No
 * auth, no validation, no persistence, no audit; same Socket.IO version and transport as ours
 * (WebSocket only, as the sync-server since issue 15).
 */
export async function startBareSocketServer(options: BareServerOptions = {}): Promise<BareServer> {
  const server = http.createServer();
  const io = new Server(server, { serveClient: false, transports: ['websocket'], ...(options.adapter ? { adapter: options.adapter } : {}) });
  io.on('connection', (socket) => {
    socket.on('join', (payload: { locationId: string }, ack: () => void) => {
      void socket.join(`loc:${payload.locationId}`);
      ack();
    });
    socket.on('push', (change: { locationId: string }) => {
      socket.to(`loc:${change.locationId}`).emit('change', change);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    io,
    async close() {
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
