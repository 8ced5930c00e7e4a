import {
  ackSchema, ErrorBody, serverEventSchemas, type ClientToServerEvents, type ErrorCode, type ServerToClientEvents,
} from '@depotline/shared';
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import { ServerDataRejectedError, ServerRequestError, ServerUnreachableError } from '../errors';
import type { ServerNetwork } from './server-network';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type ServerEvent = keyof typeof serverEventSchemas;
type ServerPayload<E extends ServerEvent> = z.infer<(typeof serverEventSchemas)[E]>;

export interface ChannelHandlers {
  connected(): void;
  disconnected(reason: string): void;
  /** A refused handshake: `code` from the server's ErrorBody, or null for a transport failure. */
  connectFailed(code: ErrorCode | null, willRetry: boolean): void;
  event<E extends ServerEvent>(event: E, payload: ServerPayload<E>): void;
  /** A server message that failed its schema: dropped, with the reason for the log. */
  malformed(event: string, reason: string): void;
}

export interface ChannelOptions {
  /** Read at every (re)connect, so a renewed token is used without rebuilding the socket. */
  accessToken: () => string;
  origin: string;
  ackTimeoutMs: number;
  reconnectDelayMs: number;
  reconnectDelayMaxMs: number;
  /** The managed policy's pinned certificate and proxy (server-network.ts); absent: system trust, no proxy. */
  network?: ServerNetwork | undefined;
}

/**
 * The Socket.IO connection to the sync server (docs/sync-protocol.md). The token travels only
 * in the handshake auth payload, never in the URL; every server message is parsed with its
 * shared schema before anyone sees it; every request needs its ack within a deadline.
 */
export class SyncChannel {
  readonly #socket: ClientSocket;
  readonly #ackTimeoutMs: number;

  constructor(serverUrl: URL, options: ChannelOptions, handlers: ChannelHandlers) {
    this.#socket = io(serverUrl.origin, {
      path: '/socket.io/',
      transports: ['websocket'],
      autoConnect: false,
      forceNew: true,
      auth: (cb) => cb({ token: options.accessToken() }),
      extraHeaders: { origin: options.origin },
      reconnection: true,
      reconnectionDelay: options.reconnectDelayMs,
      reconnectionDelayMax: options.reconnectDelayMaxMs,
      randomizationFactor: 0.5,
      timeout: options.ackTimeoutMs,
      // engine.io-client declares `agent` as string | boolean (its browser build), but in Node it
      // hands `agent`, `ca` and `checkServerIdentity` to `ws` as they are (websocket.js, `pick`).
      ...(options.network ? (options.network.socketOptions(serverUrl) as unknown as { agent: boolean }) : {}),
    });
    const socket = this.#socket;
    socket.on('connect', () => handlers.connected());
    socket.on('disconnect', (reason) => handlers.disconnected(reason));
    socket.on('connect_error', (err: Error & { data?: unknown }) => {
      const body = ErrorBody.safeParse(err.data);
      const code = body.success ? body.data.error.code : null;
      // A refusal by the server's middleware is final for socket.io-client (`active` false);
      // a transport failure keeps its own reconnection with backoff going.
      handlers.connectFailed(code, socket.active);
    });
    for (const event of Object.keys(serverEventSchemas) as ServerEvent[]) {
      socket.on(event, (payload: unknown) => {
        const parsed = serverEventSchemas[event].safeParse(payload);
        if (!parsed.success) {
          handlers.malformed(event, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`).join('; '));
          return;
        }
        handlers.event(event, parsed.data);
      });
    }
    this.#ackTimeoutMs = options.ackTimeoutMs;
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  connect(): void {
    this.#socket.connect();
  }

  disconnect(): void {
    this.#socket.disconnect();
  }

  /**
   * Sends a client event and parses its ack. Throws ServerRequestError for an error ack,
   * ServerUnreachableError when disconnected or when the ack does not come in time, and
   * ServerDataRejectedError when the ack does not match its schema.
   */
  async request<E extends keyof ClientToServerEvents, S extends z.ZodType>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
    data: S,
  ): Promise<z.infer<S>> {
    // socket.io-client buffers emits while disconnected and sends them on reconnect; a stale
    // pull or push must not go out later, so refuse instead.
    if (!this.#socket.connected) throw new ServerUnreachableError('not connected');
    let raw: unknown;
    try {
      // The typed event map cannot follow a generic event name here; the ack is parsed below.
      const untyped: Socket = this.#socket;
      raw = await untyped.timeout(this.#ackTimeoutMs).emitWithAck(event, payload);
    } catch (err) {
      throw new ServerUnreachableError(`no answer to ${event}`, { cause: err });
    }
    const parsed = ackSchema(data).safeParse(raw);
    if (!parsed.success) throw new ServerDataRejectedError(`the answer to ${event} does not match its schema`);
    const ack = parsed.data as { ok: true; data: z.infer<S> } | { ok: false; error: { code: ErrorCode; message: string; retryAfterS?: number } };
    if (!ack.ok) throw new ServerRequestError(ack.error.code, ack.error.message, ack.error.retryAfterS ?? null);
    return ack.data;
  }
}
