import type { ErrorCode, SessionEnded } from '@depotline/shared';
import { NotSignedInError } from '../errors';
import type { WipeReport } from '../profile/profile-store';
import type { Listeners } from './listeners';
import type { RetryTimer } from './retry-timer';
import type { SessionKeeper } from './session-keeper';
import type { SyncChannel } from './sync-channel';
import type { SyncEvents, SyncLog } from './sync-events';
import type { SyncLoop } from './sync-loop';
import type { SyncStatusTracker } from './sync-status';

export interface SyncConnectionOptions {
  channel: SyncChannel;
  session: SessionKeeper;
  status: SyncStatusTracker;
  retry: RetryTimer;
  loop: SyncLoop;
  events: Listeners<SyncEvents>;
  log: SyncLog;
  /** Deletes the profile's database, key and session secrets (a revoked session). */
  wipe: () => Promise<WipeReport>;
}

/**
 * The socket's lifecycle: connecting with the session's token, reconnecting with backoff
 * (after a token refresh when the server turned the token away), and ending the session,
 * with a wipe, when the server says so. Each (re)connect starts a full sync.
 */
export class SyncConnection {
  readonly #o: SyncConnectionOptions;
  #running = false;

  constructor(options: SyncConnectionOptions) {
    this.#o = options;
  }

  /** Between start() and stop() or the end of the session. */
  get running(): boolean {
    return this.#running;
  }

  /** SyncClient.start: without a network it still starts, offline, and keeps trying. */
  async start(): Promise<void> {
    const { session, status } = this.#o;
    if (status.connection === 'ended') throw new NotSignedInError();
    if (!(await session.hasStoredSession())) throw new NotSignedInError();
    this.#running = true;
    this.#o.loop.retention.start();
    await status.loadLastSyncAt();
    await status.refreshPendingCount();
    if (!session.hasTokens) {
      try {
        await session.refresh();
      } catch (err) {
        if (status.ended || err instanceof NotSignedInError) {
          this.#running = false;
          throw err;
        }
        status.noteError(err);
        status.setConnection('offline');
        this.#scheduleReconnect(true);
        return;
      }
    }
    status.setConnection('connecting');
    this.#o.channel.connect();
  }

  /** SyncClient.stop: waits for the sync in progress and the live messages received. */
  async stop(): Promise<void> {
    const { session, status } = this.#o;
    this.#running = false;
    this.#o.loop.retention.stop();
    this.#o.retry.cancel();
    session.stopRenewing();
    this.#o.channel.disconnect();
    await this.#o.loop.quiesce();
    if (status.connection !== 'ended') status.setConnection(session.hasTokens ? 'offline' : 'signed_out');
  }

  /** What an auth refusal means for the session: revoked or reused ends it with a wipe. */
  async endForCode(code: ErrorCode): Promise<void> {
    if (code === 'session_revoked') await this.endSession('revoked', true);
    else if (code === 'refresh_reused') await this.endSession('refresh_reused', true);
    else if (code === 'session_expired' || code === 'unauthenticated') await this.endSession('expired', false);
  }

  async endSession(reason: SessionEnded['reason'], wipe: boolean): Promise<void> {
    if (this.#o.status.connection === 'ended') return;
    this.#running = false;
    this.#o.loop.retention.stop();
    this.#o.retry.cancel();
    this.#o.status.setConnection('ended');
    this.#o.channel.disconnect();
    // With a wipe, wipeProfile deletes the refresh token along with the key (and reports it).
    await this.#o.session.clear({ forget: !wipe });
    const wipeReport = wipe ? await this.#o.wipe() : null;
    this.#o.log.warn('session ended', { reason, wipe });
    this.#o.events.emit('sessionEnded', { reason, wipe, wipeReport });
  }

  onConnected(): void {
    this.#o.retry.reset();
    this.#o.status.setConnection('syncing');
    this.#o.loop.request({ full: true });
  }

  onDisconnected(reason: string): void {
    const { status } = this.#o;
    if (status.connection === 'ended') return;
    status.setConnection(this.#running ? 'offline' : status.connection);
    // The server closed the socket (token expired, session cut off): socket.io-client does not
    // come back by itself after that. Refresh first, which also finds out about a revocation.
    if (this.#running && reason === 'io server disconnect') this.#scheduleReconnect(true);
  }

  async onConnectFailed(code: string | null, willRetry: boolean): Promise<void> {
    if (!this.#running || this.#o.status.connection === 'ended') return;
    this.#o.status.setConnection('offline');
    if (code === 'session_revoked') return this.endSession('revoked', true);
    if (code === null && willRetry) return; // transport trouble: socket.io-client backs off and retries
    this.#scheduleReconnect(code === 'unauthenticated' || code === 'session_expired');
  }

  #scheduleReconnect(refreshFirst: boolean): void {
    this.#o.retry.schedule(() => {
      void (async () => {
        try {
          if (refreshFirst) await this.#o.session.refresh();
          if (this.#running) this.#o.channel.connect();
        } catch (err) {
          if (this.#o.status.connection === 'ended') return;
          this.#o.status.noteError(err);
          this.#scheduleReconnect(refreshFirst);
        }
      })();
    }, this.#o.retry.nextDelay());
  }
}
