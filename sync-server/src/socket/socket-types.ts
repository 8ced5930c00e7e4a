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

export type SyncServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type SyncSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
