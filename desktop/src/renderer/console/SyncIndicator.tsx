import { useState } from 'react';
import type { SyncStatusView } from '@depotline/shared';
import { call } from '../bridge';
import { agoText, connectionLabel, localTimeWithSeconds } from '../format';
import { useNow } from './hooks';

/** Always visible: connection, edits waiting for the server, and when the last full sync ended. */
export function SyncIndicator({ status }: { status: SyncStatusView }) {
  const now = useNow(10_000);
  const [syncing, setSyncing] = useState(false);
  const { label, tone } = connectionLabel(status.connection);
  const pending = status.pendingCount;
  return (
    <div className={`sync sync-${tone}`} data-testid="sync-indicator" data-connection={status.connection} title={status.lastError ? `Last problem: ${status.lastError.message}` : undefined}>
      <span className="sync-dot" aria-hidden="true" />
      <span className="sync-label" data-testid="sync-state">{label}</span>
      <span className="sync-sep" aria-hidden="true">·</span>
      <span data-testid="sync-pending" data-count={pending} className={pending > 0 ? 'sync-pending' : undefined}>
        {pending === 0 ? 'all edits sent' : `${pending} edit${pending === 1 ? '' : 's'} pending`}
      </span>
      <span className="sync-sep" aria-hidden="true">·</span>
      <span data-testid="sync-last">
        {status.lastSyncAt ? <time title={localTimeWithSeconds(status.lastSyncAt)}>synced {agoText(status.lastSyncAt, now)}</time> : 'not synced yet'}
      </span>
      <button
        type="button" className="icon-button" aria-label="Sync now" title="Sync now" disabled={syncing || status.connection !== 'live'}
        onClick={() => {
          setSyncing(true);
          void call('syncNow').catch(() => undefined).finally(() => setSyncing(false));
        }}
      >↻</button>
    </div>
  );
}
