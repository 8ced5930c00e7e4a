/**
 * A webhook receiver on a loopback port, as an integration would run one: it records every
 * request (raw body and headers), answers what the test says, and counts connections, so a test
 * can tell a request that was refused before connecting from one that was answered.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  headers: Record<string, string>;
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; delayMs?: number };

export interface Receiver {
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  port: number;
  received: ReceivedWebhook[];
  connections: () => number;
  /** What the next requests are answered; a function sees each request and how many came before. */
  answer: (a: Answer | ((r: ReceivedWebhook, index: number) => Answer)) => void;
  close(): Promise<void>;
}

export async function startReceiver(initial: Answer = { status: 204 }): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  let connections = 0;
  let answer: Answer | ((r: ReceivedWebhook, index: number) => Answer) = initial;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const r: ReceivedWebhook = {
        path: req.url ?? '', id: headers['webhook-id'] ?? '', timestamp: headers['webhook-timestamp'] ?? '', signature: headers['webhook-signature'] ?? '',
        body: Buffer.concat(chunks).toString('utf8'), headers, at: Date.now(),
      };
      const index = received.length;
      received.push(r);
      const a = typeof answer === 'function' ? answer(r, index) : answer;
      const send = () => {
        res.writeHead(a.status, a.headers ?? {});
        res.end();
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  server.on('connection', () => void connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    received,
    connections: () => connections,
    answer: (a) => void (answer = a),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
