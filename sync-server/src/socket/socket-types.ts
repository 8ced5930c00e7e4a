import type { ClientToServerEvents, ServerToClientEvents } from '@depotline/shared';
import type { Server, Socket } from 'socket.io';
import type { AccessProfile } from '../access/access-profile';
import type { AuditActor } from '../audit/audit-log';
import type { Principal } from '../auth/principal';

/** What the server keeps on each authenticated socket. */
export interface SocketData {
  principal: Principal;
  profile: AccessProfile;
  actor: AuditActor;
  token: string;
  /** Last time the session row was re-checked (ms). */
  sessionCheckedAt: number;
  expiryTimer?: NodeJS.Timeout;
}

/**
 * Messages between server processes (Socket.IO `serverSideEmit`, over Redis): `fanout:resync`
 * says the sender's broadcasts were lost while Redis was unreachable (socket/adapter.ts).
 */
export interface InterServerEvents {
  'fanout:resync': () => void;
}

export type SyncServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type SyncSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
