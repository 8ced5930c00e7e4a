import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis, type RedisOptions } from 'ioredis';
import type { ServerOptions } from 'socket.io';
import type { Logger } from '../context';
import { redisTlsOptions } from '../ratelimit/redis-connection';
import type { RateLimitSettings } from '../ratelimit/settings';
import type { SyncServer } from './socket-types';

/**
 * How a live change reaches consoles connected to other server processes (docs/architecture.md
 * "Scale-out"). With REDIS_URL set, Socket.IO's Redis streams adapter: every room broadcast is
 * appended to one Redis stream and every process reads that stream and delivers to its own
 * sockets. A stream rather than pub/sub because a reader that loses its connection resumes from
 * the last entry it read, so a Redis restart or a network blip on the reading side loses nothing
 * still in the stream (pub/sub drops it, and a console whose socket stayed up would never learn).
 * Without REDIS_URL: Socket.IO's in-memory adapter (one process).
 *
 * Nothing is lost without being noticed, and what is lost is made up by a pull:
 * - A reader resumes from the last entry it read, also when it had read none yet (the adapter
 *   alone would start again at the stream's end, `$`, and skip what came while it reconnected).
 * - Entries trimmed (`MAXLEN ~`) before this process read them: the stream's first entry is
 *   past the reader's offset, and this process closes its consoles' connections.
 * - An append that fails (Redis unreachable, out of memory, a timeout) is not retried: once the
 *   connection is back, or a probe of it succeeds, this process tells the others (`fanout:resync`).
 * Closing a console's connection (spread over a few seconds, so a resync is not a thundering
 * herd on the database) makes it reconnect to any process and pull from its cursor, as after
 * any reconnect.
 */
export interface SocketFanOut {
  /** 'redis' when broadcasts cross processes. */
  readonly kind: 'memory' | 'redis';
  /** The adapter for the Socket.IO server options (undefined: the in-memory default). */
  readonly adapter: ServerOptions['adapter'] | undefined;
  /**
   * Waits until every Redis connection is up, at most `waitMs`; says whether they are. A process
   * that starts while Redis is down starts anyway: its broadcasts stay within it until Redis is back.
   */
  ready(waitMs: number): Promise<boolean>;
  /** Wires the resync above into the Socket.IO server built with `adapter`. */
  attach(io: SyncServer): void;
  /** Closes the connections; call after the Socket.IO server is closed (which stops the stream reader). */
  close(): Promise<void>;
}

/** Entries kept in the stream (approximately: trimmed with `MAXLEN ~`): how far a reader that lost its connection can catch up. */
export const fanOutStreamMaxLen = 10_000;
/** How long one blocking XREAD waits for entries before it is issued again. */
const readBlockMs = 5_000;
/**
 * When a process that lost appends announces it: at once, and again later for the processes
 * whose own Redis connections come back after ours (pub/sub keeps nothing for a late subscriber).
 */
const resyncAnnouncementsMs = [0, 5_000];
/** A process closes its consoles' connections at most once per this period, however many processes announce. */
const resyncQuietMs = 15_000;
/** The closes of one resync are spread at random over this long. */
const resyncSpreadMs = 3_000;
/** How often a publisher whose append failed probes the connection (then announces the resync). */
const appendProbeMs = 1_000;

export function createSocketFanOut(settings: RateLimitSettings, log: Logger): SocketFanOut {
  if (!settings.redis) return { kind: 'memory', adapter: undefined, ready: () => Promise.resolve(true), attach: () => {}, close: () => Promise.resolve() };
  const name = `${settings.keyPrefix}socket.io`;
  const health = new FanOutHealth(log, name);
  const tls = redisTlsOptions(settings.redis);

  // The publishing connection never queues: while Redis is unreachable an append fails at once
  // and the adapter delivers the change to this process's own sockets (it always does, after the
  // append), so local consoles are not held up by an outage.
  const publisher = new Redis(settings.redis.url, {
    ...tls,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 5000,
  });
  health.watch('publish', publisher);

  // An append refused while Redis is unreachable is a change the other processes' consoles
  // will not receive live; remembered until the connection is back (then announced below).
  let appendsLost = false;
  const append = publisher.xadd.bind(publisher) as unknown as (...args: unknown[]) => Promise<unknown>;
  // The adapter sends its pub/sub messages (serverSideEmit) without handling a failure: an
  // unhandled rejection would end the process, so a failed one resolves (as "nobody received it").
  const publish = publisher.publish.bind(publisher) as unknown as (...args: unknown[]) => Promise<number>;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    t.unref();
    timers.add(t);
  };
  // A failed append on a connection that stays up (out of memory under `noeviction`, a command
  // timeout) brings no reconnect to wait for: a probe tells when appends work again.
  let probing = false;
  const probeAppends = () => {
    if (probing || health.closing) return;
    probing = true;
    later(appendProbeMs, () => {
      probing = false;
      if (health.closing || publisher.status !== 'ready') return; // a reconnect ('ready') announces it instead
      publisher.ping().then(() => health.onUp(), () => probeAppends());
    });
  };
  Object.assign(publisher, {
    xadd: (...args: unknown[]) => append(...args).catch((err: unknown) => {
      // While Redis is unreachable the outage is logged already (FanOutHealth); this is the refusal on a live connection.
      if (!appendsLost && publisher.status === 'ready') log.error('socket fan-out: a live change could not be appended to the Redis stream; the other processes resync their consoles once appends work again', { err: err instanceof Error ? err.message : String(err) });
      appendsLost = true;
      probeAppends();
      throw err;
    }),
    publish: (...args: unknown[]) => publish(...args).catch(() => 0),
  });
  let io: SyncServer | null = null;
  let lastResync = -Infinity;
  /** Closes this process's consoles' connections, spread out; each reconnects and pulls what it missed. */
  const resyncOwnConsoles = (why: string) => {
    const server = io;
    if (!server || health.closing) return;
    const now = Date.now();
    if (now - lastResync < resyncQuietMs) return;
    lastResync = now;
    const sockets = [...server.of('/').sockets.values()];
    log.info(`socket fan-out: ${why}; this process's consoles reconnect and pull`, { sockets: sockets.length });
    // Closing the connection (not `disconnect()`, which tells the client to stay away): the
    // console reconnects by itself, with its randomized backoff, and pulls from its cursor.
    for (const socket of sockets) later(Math.floor(Math.random() * resyncSpreadMs), () => socket.conn.close());
  };
  health.onUp = () => {
    if (!appendsLost || !io || publisher.status !== 'ready') return;
    appendsLost = false;
    const server = io;
    for (const ms of resyncAnnouncementsMs) later(ms, () => server.serverSideEmit('fanout:resync'));
  };

  // The adapter opens its stream reader and its pub/sub subscriber with `duplicate()`, which
  // would copy the options above. A reader that fails at once loops on XREAD without ever
  // yielding (the adapter re-issues it immediately), and a 1 s timeout would cut every 5 s
  // blocking read short; so the duplicates wait for the connection instead, with a timeout
  // above the blocking time (a read that times out is issued again from the same offset).
  const duplicates: Redis[] = [];
  // `disconnectTimeout` (an ioredis option its types leave out, 2 s by default): the adapter's
  // reader disconnects once more after ours at close, and each call arms a timer that would
  // keep the process alive that long.
  const quickDisconnect = { disconnectTimeout: 100 } as Partial<RedisOptions>;
  const readerOptions: RedisOptions = {
    ...tls,
    ...quickDisconnect,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: readBlockMs + 5_000,
    connectTimeout: 5000,
  };
  const url = settings.redis.url;
  publisher.duplicate = (override?: Partial<RedisOptions>) => {
    // The first is the stream reader, the second the subscriber, whose SUBSCRIBE (sent without
    // handling a failure) must wait for the connection rather than time out.
    const reader = duplicates.length === 0;
    const client = new Redis(url, { ...readerOptions, ...(reader ? {} : { commandTimeout: undefined }), ...override });
    health.watch(reader ? 'read' : 'subscribe', client);
    if (reader) resumableReads(client, name, resyncOwnConsoles);
    duplicates.push(client);
    return client;
  };

  const adapter = createAdapter(publisher, {
    streamName: name,
    channelPrefix: name,
    maxLen: fanOutStreamMaxLen,
    blockTimeInMs: readBlockMs,
    // Every packet is JSON (changes, drops, session ends): no per-packet binary scan.
    onlyPlaintext: true,
  });
  const all = () => [publisher, ...duplicates];
  return {
    kind: 'redis',
    adapter,
    async ready(waitMs) {
      const end = Date.now() + waitMs;
      while (Date.now() < end) {
        if (duplicates.length >= 2 && all().every((c) => c.status === 'ready')) return true;
        await new Promise((r) => setTimeout(r, 20));
      }
      return all().every((c) => c.status === 'ready');
    },
    attach(server) {
      io = server;
      server.on('fanout:resync', () => resyncOwnConsoles('another process could not append live changes to the stream'));
    },
    async close() {
      health.closing = true;
      for (const t of timers) clearTimeout(t);
      for (const c of duplicates) c.disconnect();
      try {
        await publisher.quit();
      } catch {
        publisher.disconnect();
      }
    },
  };
}

/** Stream entry ids (`<ms>-<seq>`) in order. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/**
 * Wraps the stream reader's XREAD (the adapter's only use of this connection) so that:
 * - a read from `$` (the adapter's offset until it has read an entry) resumes from the last
 *   entry this process has seen, or from the stream's end as it was at the first read, so a
 *   reconnect before the first entry skips nothing;
 * - entries trimmed before they were read are noticed: after each read that returned entries, the
 *   stream's first entry is compared with the offset read from.
 */
function resumableReads(reader: Redis, stream: string, onGap: (why: string) => void): void {
  type Entries = [string, [string, string[]][]][] | null;
  const xread = reader.xread.bind(reader) as unknown as (...args: (string | number)[]) => Promise<Entries>;
  let seen: string | null = null;
  const lastEntryId = async () => (await reader.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  // Trimming removes the oldest entries first: if the entry read last is gone, what came after it
  // may be too (Redis keeps no record of trimmed ids; `max-deleted-entry-id` counts XDEL only).
  const trimmedPast = async (offset: string) => {
    const first = (await reader.xrange(stream, '-', '+', 'COUNT', 1))[0]?.[0];
    return first !== undefined && compareStreamIds(first, offset) > 0;
  };
  Object.assign(reader, {
    xread: async (...args: (string | number)[]): Promise<Entries> => {
      const at = args.indexOf('STREAMS') + 2;
      let offset = String(args[at]);
      if (offset === '$') offset = seen ??= await lastEntryId();
      const result = await xread(...args.slice(0, at), offset);
      const entries = result?.[0]?.[1] ?? [];
      if (entries.length > 0) {
        seen = entries[entries.length - 1]![0];
        // Checked beside the delivery, not before it (the next XREAD queues behind it on this connection).
        if (offset !== '0-0') {
          void trimmedPast(offset).then((gap) => gap && onGap('live changes were trimmed from the Redis stream before this process read them'), () => undefined);
        }
      }
      return result;
    },
  });
}

/**
 * Logs the fan-out's reachability on each transition only (ioredis reports every failed
 * reconnect), never the URL: it may hold a password.
 */
class FanOutHealth {
  closing = false;
  /** Called whenever a connection becomes ready and all of them are up. */
  onUp: () => void = () => {};
  private readonly down = new Set<string>();
  private state: 'starting' | 'up' | 'down' = 'starting';
  private readonly ready = new Set<string>();
  constructor(private readonly log: Logger, private readonly stream: string) {}

  watch(role: string, client: Redis): void {
    client.on('error', (err: Error) => this.note(role, false, err));
    client.on('ready', () => this.note(role, true));
  }

  private note(role: string, up: boolean, err?: Error): void {
    if (this.closing) return;
    if (up) {
      this.down.delete(role);
      this.ready.add(role);
    } else {
      this.down.add(role);
    }
    if (this.down.size > 0 && this.state !== 'down') {
      this.state = 'down';
      this.log.error("socket fan-out: Redis unreachable; live changes reach only this process's consoles until it is back", {
        connection: role, err: err?.message ?? 'unknown',
      });
    } else if (this.down.size === 0 && this.ready.size === 3 && this.state !== 'up') {
      const was = this.state;
      this.state = 'up';
      this.log.info(was === 'down' ? 'socket fan-out: Redis reachable again; live changes reach consoles on every process' : 'socket fan-out through Redis', { stream: this.stream });
    }
    // Also after a reconnect too quick to report an error: appends may have failed meanwhile.
    if (up && this.down.size === 0 && this.ready.size === 3) this.onUp();
  }
}
