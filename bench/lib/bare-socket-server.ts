import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

export interface BareServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The fan-out baseline of issue 5: a Socket.IO server that only rebroadcasts to a room. No
 * auth, no validation, no persistence, no audit; same Socket.IO version and transport as ours.
 */
export async function startBareSocketServer(): Promise<BareServer> {
  const server = http.createServer();
  const io = new Server(server, { serveClient: false });
  io.on('connection', (socket) => {
    socket.on('join', (payload: { locationId: string }, ack: () => void) => {
      void socket.join(`loc:${payload.locationId}`);
      ack();
    });
    socket.on('push', (change: { locationId: string }) => {
      socket.to(`loc:${change.locationId}`).emit('change', change);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
