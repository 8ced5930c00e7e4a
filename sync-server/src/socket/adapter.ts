import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis, type RedisOptions } from 'ioredis';
import type { ServerOptions } from 'socket.io';
import type { Logger } from '../context';
import { redisTlsOptions } from '../ratelimit/redis-connection';
import type { RateLimitSettings } from '../ratelimit/settings';

/**
 * How a live change reaches consoles connected to other server processes (docs/architecture.md
 * "Scale-out"). With REDIS_URL set, Socket.IO's Redis streams adapter: every room broadcast is
 * appended to one Redis stream and every process reads that stream and delivers to its own
 * sockets. A stream rather than pub/sub because a reader that loses its connection resumes from
 * the last entry it read, so a Redis restart or a network blip on the reading side loses nothing
 * published meanwhile (pub/sub drops it, and a console whose socket stayed up would never learn).
 * Without REDIS_URL: Socket.IO's in-memory adapter (one process).
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
  /** Closes the connections; call after the Socket.IO server is closed (which stops the stream reader). */
  close(): Promise<void>;
}

/** Entries kept in the stream (approximately: trimmed with `MAXLEN ~`): how far a reader that lost its connection can catch up. */
export const fanOutStreamMaxLen = 10_000;
/** How long one blocking XREAD waits for entries before it is issued again. */
const readBlockMs = 5_000;

export function createSocketFanOut(settings: RateLimitSettings, log: Logger): SocketFanOut {
  if (!settings.redis) return { kind: 'memory', adapter: undefined, ready: () => Promise.resolve(true), close: () => Promise.resolve() };
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

  // The adapter opens its stream reader and its pub/sub subscriber with `duplicate()`, which
  // would copy the options above. A reader that fails at once loops on XREAD without ever
  // yielding (the adapter re-issues it immediately), and a 1 s timeout would cut every 5 s
  // blocking read short; so the duplicates wait for the connection instead, with a timeout
  // above the blocking time (a read that times out is issued again from the same offset).
  const duplicates: Redis[] = [];
  const readerOptions: RedisOptions = {
    ...tls,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: readBlockMs + 5_000,
    connectTimeout: 5000,
  };
  const url = settings.redis.url;
  publisher.duplicate = (override?: Partial<RedisOptions>) => {
    const client = new Redis(url, { ...readerOptions, ...override });
    health.watch(duplicates.length === 0 ? 'read' : 'subscribe', client);
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
    async close() {
      health.closing = true;
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
  }
}
