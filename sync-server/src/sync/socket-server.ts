import type http from 'node:http';
import type https from 'node:https';
import {
  type ClientToServerEvents, type ServerToClientEvents, clientEventSchemas,
} from '@depotline/shared';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { Server, type Socket } from 'socket.io';
import { type AccessProfile, loadAccessProfile, listLocationAccess, viewAt } from '../access/access-profile';
import { authorize } from '../access/authorize';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import { authenticateAccessToken } from '../auth/access-tokens';
import { touchSession } from '../auth/require-auth';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { asAppError, rateLimited, unauthenticated, unknownEvent } from '../errors';
import { parseWith } from '../http/pipeline';
import { broadcastTouched, driverRoom, generalRoom, sessionRoom, userRoom, viewClassOf, type DriverPermissionLookup } from './broadcast';
import { pushMutations } from './mutations';
import { pullChanges } from './pull';
import { loadViewerScope } from './visibility';

export interface SocketData {
  principal: Principal;
  profile: AccessProfile;
  actor: AuditActor;
  token: string;
  /** Last time the session row was re-checked (ms). */
  sessionCheckedAt: number;
  expiryTimer?: NodeJS.Timeout;
}

export type SyncServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type SyncSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** How often an open socket re-checks its session row (revocation also arrives via the watcher). */
const sessionRecheckMs = 1000;

/**
 * The Socket.IO side of the sync protocol (docs/sync-protocol.md). Security notes, from
 * SECURITY-REFERENCES.md (Socket.IO 4):
 * - `allowRequest` checks Origin; the `cors` option alone would not stop a cross-site page.
 * - `io.use` runs once per connection, so every event re-checks token expiry and the session.
 * - Connection-state recovery stays off: its default skips this middleware on resume.
 */
export function attachSocketServer(server: http.Server | https.Server, ctx: ServerContext): SyncServer {
  const io: SyncServer = new Server(server, {
    serveClient: false,
    maxHttpBufferSize: ctx.config.maxSocketMessageBytes,
    allowRequest: (req, cb) => {
      // Browsers always send Origin; a non-browser client (the desktop core under Node) may
      // not, and could forge it anyway: the token is the real check, Origin stops cross-site pages.
      const origin = req.headers.origin;
      cb(null, origin === undefined || ctx.config.allowedOrigins.has(origin));
    },
  });

  const eventLimiter = new RateLimiterMemory({ points: 60, duration: 1 });
  const authFailureAudit = new Map<string, number>();
  const driverProfiles = new Map<string, { at: number; profile: AccessProfile }>();
  const driverPerms: DriverPermissionLookup = async (userId, locationId) => {
    const now = ctx.now();
    let cached = driverProfiles.get(userId);
    if (!cached || now - cached.at > 5000) {
      cached = { at: now, profile: await loadAccessProfile(ctx.db, userId, now) };
      driverProfiles.set(userId, cached);
    }
    const view = viewAt(cached.profile, locationId, now);
    return view && view.assigned.size > 0 ? view.assigned : null;
  };

  ctx.live = { publish: (touched) => broadcastTouched(ctx, io, touched, driverPerms) };

  io.use((socket, next) => {
    void (async () => {
      const ip = socket.handshake.address ?? null;
      try {
        const auth = socket.handshake.auth as { token?: unknown } | undefined;
        // Only the handshake auth payload is read: a token in the URL would end up in logs.
        if (typeof auth?.token !== 'string') throw unauthenticated();
        const principal = await authenticateAccessToken(ctx, auth.token);
        const profile = await loadAccessProfile(ctx.db, principal.userId, ctx.now());
        socket.data = {
          principal,
          profile,
          token: auth.token,
          sessionCheckedAt: ctx.now(),
          actor: { userId: principal.userId, label: principal.username, deviceId: principal.deviceId, ip },
        };
        next();
      } catch (err) {
        const appError = asAppError(err);
        // One audit entry per address per 10 s, so a flood of bad handshakes cannot flood the log.
        const key = ip ?? 'unknown';
        const now = ctx.now();
        if ((authFailureAudit.get(key) ?? 0) + 10_000 < now) {
          authFailureAudit.set(key, now);
          await ctx.db.transaction().execute((trx) =>
            appendAudit(trx, { userId: null, label: 'anonymous', deviceId: null, ip }, { action: 'socket.connect', outcome: 'failed', details: { errorCode: appError.code } }, now),
          ).catch(() => {});
        }
        const e = new Error(appError.message) as Error & { data?: unknown };
        e.data = appError.toBody();
        next(e);
      }
    })();
  });

  io.on('connection', (socket: SyncSocket) => {
    void socket.join([sessionRoom(socket.data.principal.sessionId), userRoom(socket.data.principal.userId)]);
    joinLocationRooms(socket, ctx.now());
    scheduleExpiry(socket);
    socket.on('disconnect', () => clearTimeout(socket.data.expiryTimer));

    // Every event: known name, a payload that parses, a token still valid, a live session,
    // and a per-user rate. Failures are answered on the ack, never by crashing the socket.
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
    if (!Object.hasOwn(clientEventSchemas, event)) throw unknownEvent(event);
    const name = event as keyof typeof clientEventSchemas;
    try {
      await eventLimiter.consume(socket.data.principal.userId);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw rateLimited(Math.ceil(res.msBeforeNext / 1000));
      throw res;
    }
    await recheckSession(socket);
    const { principal, profile, actor } = socket.data;
    const now = ctx.now();
    // Each payload is parsed once, with its event's schema, before anything else reads it.
    switch (name) {
      case 'sync:locations':
        parseWith(clientEventSchemas['sync:locations'], payload ?? {});
        return listLocationAccess(ctx.db, profile, now);
      case 'sync:pull': {
        const req = parseWith(clientEventSchemas['sync:pull'], payload);
        await authorize(ctx, actor, profile, { permission: 'location.read', locationId: req.locationId, action: 'sync.pull', assignedToCaller: true });
        return pullChanges(ctx, await loadViewerScope(ctx.db, profile, req.locationId, now), req);
      }
      case 'sync:push': {
        const req = parseWith(clientEventSchemas['sync:push'], payload);
        return pushMutations(ctx, principal, actor, profile, req.mutations);
      }
      case 'auth:renew': {
        const req = parseWith(clientEventSchemas['auth:renew'], payload);
        const renewed = await authenticateAccessToken(ctx, req.accessToken);
        if (renewed.sessionId !== principal.sessionId || renewed.userId !== principal.userId) throw unauthenticated('The new token belongs to another session.');
        socket.data.principal = renewed;
        socket.data.token = req.accessToken;
        scheduleExpiry(socket);
        return { expiresAt: renewed.accessExpiresAt };
      }
    }
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

  return io;
}

/** Puts the socket in the rooms its grants allow right now (and takes it out of the others). */
export function joinLocationRooms(socket: SyncSocket, now: number): { dropped: string[] } {
  const { profile, principal } = socket.data;
  const wanted = new Set<string>([sessionRoom(principal.sessionId), userRoom(principal.userId), socket.id]);
  for (const locationId of profile.byLocation.keys()) {
    const view = viewAt(profile, locationId, now);
    if (!view) continue;
    if (view.general.has('location.read')) wanted.add(generalRoom(locationId, viewClassOf(view.general)));
    if (view.assigned.has('location.read')) wanted.add(driverRoom(locationId, principal.userId));
  }
  const dropped = new Set<string>();
  for (const room of socket.rooms) {
    if (!wanted.has(room)) {
      void socket.leave(room);
      const loc = /^loc:(.+):[gd]:[^:]+$/.exec(room)?.[1];
      if (loc && !viewAt(profile, loc, now)) dropped.add(loc);
    }
  }
  void socket.join([...wanted]);
  return { dropped: [...dropped] };
}

