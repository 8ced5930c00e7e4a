import type http from 'node:http';
import type https from 'node:https';
import { Server } from 'socket.io';
import { loadAccessProfile } from '../access/access-profile';
import { authorize } from '../access/authorize';
import { actorOf } from '../access/caller';
import { appendAudit } from '../audit/audit-log';
import { authenticateAccessToken } from '../auth/access-tokens';
import { touchSession } from '../auth/session-activity';
import type { ServerContext } from '../context';
import { asAppError, parseInput, rateLimited, unauthenticated, unknownEvent } from '../errors';
import { ipRateKey } from '../ratelimit/keys';
import type { SocketFanOut } from './adapter';
import type { ClientEvent, EventHandler, EventTable } from './events';
import { joinLocationRooms, sessionRoom, userRoom } from './rooms';
import type { SyncServer, SyncSocket } from './socket-types';

/** How often an open socket re-checks its session row (revocation also arrives via the watcher). */
const sessionRecheckMs = 1000;

/**
 * Client events per second from one user, all their sockets on every process together (shared
 * in Redis when REDIS_URL is set; per process while Redis is unreachable, as the REST limits).
 */
export const socketEventLimit = { name: 'socket-event', points: 60, durationS: 1 } as const;
/**
 * At most one `socket.connect` failed audit entry per client address (IPv6: per /64) per 10 s,
 * across every process, so a flood of bad handshakes cannot flood the audit log.
 */
export const handshakeAuditLimit = { name: 'socket-connect-audit', points: 1, durationS: 10 } as const;

/**
 * The Socket.IO server (docs/sync-protocol.md). From the Socket.IO 4 documentation and our
 * own tests:
 * - `allowRequest` checks Origin; the `cors` option alone would not stop a cross-site page.
 * - `io.use` runs once per connection, so every event re-checks token expiry and the session.
 * - Connection-state recovery stays off: its default skips this middleware on resume.
 * - WebSocket only: a socket is one upgraded connection to one process, so a load balancer in
 *   front of several processes needs no sticky sessions (polling would: each of its requests
 *   must reach the process holding the session). After a process dies its consoles reconnect
 *   to another.
 * - `fanOut` carries broadcasts to the other processes when Redis is configured (adapter.ts).
 */
export function createSocketServer(server: http.Server | https.Server, ctx: ServerContext, fanOut: SocketFanOut): SyncServer {
  const io: SyncServer = new Server(server, {
    serveClient: false,
    transports: ['websocket'],
    ...(fanOut.adapter ? { adapter: fanOut.adapter } : {}),
    maxHttpBufferSize: ctx.config.maxSocketMessageBytes,
    allowRequest: (req, cb) => {
      // Browsers always send Origin; a non-browser client (the desktop core under Node) may
      // not, and could forge it anyway: the token is the real check, Origin stops cross-site pages.
      const origin = req.headers.origin;
      cb(null, origin === undefined || ctx.config.allowedOrigins.has(origin));
    },
  });
  fanOut.attach(io);
  const authFailureAudit = ctx.rateLimits.limiter(handshakeAuditLimit, 'per-process');

  io.use((socket, next) => {
    void (async () => {
      const ip = clientAddressOf(socket.request, ctx.config.trustProxyHops);
      try {
        const auth = socket.handshake.auth as { token?: unknown } | undefined;
        // Only the handshake auth payload is read: a token in the URL would end up in logs.
        if (typeof auth?.token !== 'string') throw unauthenticated();
        const principal = await authenticateAccessToken(ctx, auth.token);
        const profile = await loadAccessProfile(ctx.db, principal.userId, ctx.now());
        socket.data = { principal, profile, token: auth.token, sessionCheckedAt: ctx.now(), actor: actorOf(principal, ip) };
        next();
      } catch (err) {
        const appError = asAppError(err);
        // One audit entry per address per 10 s, so a flood of bad handshakes cannot flood the log.
        const now = ctx.now();
        if ((await authFailureAudit.consume(ipRateKey(ip))).allowed) {
          await ctx.db.transaction().execute((trx) =>
            appendAudit(trx, actorOf(null, ip), { action: 'socket.connect', outcome: 'failed', details: { errorCode: appError.code } }, now),
          ).catch(() => {});
        }
        const e = new Error(appError.message) as Error & { data?: unknown };
        e.data = appError.toBody();
        next(e);
      }
    })();
  });
  return io;
}

/**
 * The client's address as the REST API sees it (Express's `trust proxy` with a hop count): with
 * `TRUST_PROXY_HOPS=n`, the address n entries into `X-Forwarded-For` from the right, counting
 * the connection's own address as the first; with 0, the connection's address and the header is
 * ignored (a client could write anything there). Behind nginx this is the console's address, so
 * audit entries name it and one client's failed handshakes are coalesced apart from everyone else's.
 */
export function clientAddressOf(req: { socket: { remoteAddress?: string }; headers: http.IncomingHttpHeaders }, trustedHops: number): string | null {
  const addresses: (string | undefined)[] = [req.socket.remoteAddress];
  if (trustedHops > 0) {
    const header = req.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((a) => a.trim()).filter((a) => a.length > 0);
    addresses.push(...forwarded.reverse());
  }
  return addresses[Math.min(trustedHops, addresses.length - 1)] ?? null;
}

/**
 * Serves the client events of `table` on every connection: each event goes through the same
 * steps, in order (known name, per-user rate, token and session still valid, payload parsed
 * once with its schema, permission, handler), and every failure is answered on the ack, never
 * by crashing the socket.
 */
export function serveSocketEvents(io: SyncServer, ctx: ServerContext, table: EventTable): void {
  const eventLimiter = ctx.rateLimits.limiter(socketEventLimit, 'per-process');

  io.on('connection', (socket: SyncSocket) => {
    void socket.join([sessionRoom(socket.data.principal.sessionId), userRoom(socket.data.principal.userId)]);
    joinLocationRooms(socket, ctx.now());
    scheduleExpiry(socket);
    socket.on('disconnect', () => clearTimeout(socket.data.expiryTimer));

    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as (res: unknown) => void) : null;
      if (!ack) return; // every client event needs an ack; a message without one is dropped
      const payload = args.length > 1 ? args[0] : undefined;
      void handleEvent(socket, event, payload)
        .then((data) => ack({ ok: true, data }))
        .catch((err: unknown) => {
          const appError = asAppError(err);
          if (appError.code === 'internal') ctx.log.error('socket event failed', { event: event.slice(0, 64), err: String((err as Error)?.stack ?? err) });
          ack({ ok: false, ...appError.toBody() });
          if (appError.code === 'unauthenticated' || appError.code === 'session_revoked' || appError.code === 'session_expired') socket.disconnect(true);
        });
    });
  });

  async function handleEvent(socket: SyncSocket, event: string, payload: unknown): Promise<unknown> {
    if (!Object.hasOwn(table, event)) throw unknownEvent(event);
    // Widened once: the entry under `event` is the handler written for that event.
    const handler = table[event as ClientEvent] as EventHandler<ClientEvent>;
    const rate = await eventLimiter.consume(socket.data.principal.userId);
    if (!rate.allowed) throw rateLimited(Math.max(1, Math.ceil(rate.resetMs / 1000)));
    await recheckSession(socket);
    const input = parseInput(handler.schema, payload ?? {}) as never;
    const { principal, profile, actor } = socket.data;
    if (handler.authorize) await authorize(ctx, actor, profile, handler.authorize(input));
    return handler.handle({
      ctx,
      caller: { principal, profile, actor },
      now: ctx.now(),
      renew: (renewed, token) => {
        socket.data.principal = renewed;
        socket.data.token = token;
        scheduleExpiry(socket);
      },
    }, input);
  }

  async function recheckSession(socket: SyncSocket): Promise<void> {
    const now = ctx.now();
    if (socket.data.principal.accessExpiresAt <= now) throw unauthenticated('The access token has expired; renew it.');
    if (now - socket.data.sessionCheckedAt < sessionRecheckMs) return;
    await authenticateAccessToken(ctx, socket.data.token);
    // Sync traffic is activity: it keeps the session from going idle (at most one write a minute).
    await touchSession(ctx, socket.data.principal.sessionId);
    socket.data.sessionCheckedAt = now;
  }

  function scheduleExpiry(socket: SyncSocket): void {
    clearTimeout(socket.data.expiryTimer);
    const ms = Math.max(0, socket.data.principal.accessExpiresAt - ctx.now());
    // An open socket does not outlive its token: renew with `auth:renew` or reconnect.
    socket.data.expiryTimer = setTimeout(() => socket.disconnect(true), Math.min(ms, 2_147_000_000));
    socket.data.expiryTimer.unref();
  }
}
