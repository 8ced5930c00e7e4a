import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

/**
 * A depot tile server on loopback for the map tests: `GET /{z}/{x}/{y}.png` answers a generated
 * 256 px PNG (a pale tile with a darker edge, so tiles are visible in a screenshot), with CORS
 * for the console's origin only. It records every request it gets.
 */
export interface TileServer {
  readonly origin: string;
  /** `{z}/{x}/{y}` template for the console policy. */
  readonly urlTemplate: string;
  readonly requests: Array<{ path: string; origin: string | null }>;
  close(): Promise<void>;
}

export async function startTileServer(allowOrigin: () => string): Promise<TileServer> {
  const requests: TileServer['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', origin: typeof req.headers.origin === 'string' ? req.headers.origin : null });
    const match = /^\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(req.url ?? '');
    if (req.method !== 'GET' || !match) {
      res.writeHead(404).end();
      return;
    }
    const [z, x, y] = match.slice(1).map(Number) as [number, number, number];
    res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': allowOrigin(), 'cache-control': 'no-store' });
    res.end(tilePng(z, x, y));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    urlTemplate: `${origin}/{z}/{x}/{y}.png`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A 256x256 RGB PNG, shaded by tile so neighbouring tiles differ. */
export function tilePng(z: number, x: number, y: number): Buffer {
  const size = 256;
  const shade = (x + y) % 2 === 0 ? 0 : 10;
  const fill = [214 - shade, 232 - shade, 208 - shade + (z % 3) * 4];
  const edge = [170, 190, 165];
  const rows = Buffer.alloc(size * (1 + size * 3));
  for (let row = 0; row < size; row++) {
    const start = row * (1 + size * 3);
    rows[start] = 0; // filter: none
    for (let col = 0; col < size; col++) {
      const colour = row === 0 || col === 0 ? edge : fill;
      rows.set(colour, start + 1 + col * 3);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method extras, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body), 0);
  return Buffer.concat([length, body, crc]);
}
