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
 * published meanwhile (pub/sub drops it, and a console whose socket stayed up would never learn).
 * Without REDIS_URL: Socket.IO's in-memory adapter (one process).
 *
 * While Redis is unreachable a process's broadcasts reach only its own sockets (an append that
 * fails is not retried). When its connection is back, a process that lost appends tells the
 * others (`fanout:resync`), and they close their consoles' connections: a console reconnects
 * (to any process) and pulls what it missed, as after any reconnect.
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
  Object.assign(publisher, {
    xadd: (...args: unknown[]) => append(...args).catch((err: unknown) => {
      appendsLost = true;
      throw err;
    }),
    publish: (...args: unknown[]) => publish(...args).catch(() => 0),
  });
  const timers = new Set<NodeJS.Timeout>();
  let io: SyncServer | null = null;
  health.onUp = () => {
    if (!appendsLost || !io || publisher.status !== 'ready') return;
    appendsLost = false;
    const server = io;
    for (const ms of resyncAnnouncementsMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        server.serverSideEmit('fanout:resync');
      }, ms);
      t.unref();
      timers.add(t);
    }
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
      let lastResync = -Infinity;
      server.on('fanout:resync', () => {
        const now = Date.now();
        if (now - lastResync < resyncQuietMs) return;
        lastResync = now;
        const sockets = [...server.of('/').sockets.values()];
        log.info('socket fan-out: another process lost broadcasts while Redis was unreachable; its consoles here reconnect and pull', { sockets: sockets.length });
        // Closing the connection (not `disconnect()`, which tells the client to stay away): the
        // console reconnects by itself, with its randomized backoff, and pulls from its cursor.
        for (const socket of sockets) socket.conn.close();
      });
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
