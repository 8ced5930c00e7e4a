import { useState, type FormEvent } from 'react';
import type { DeviceView, SessionView } from '@depotline/shared';
import { call } from '../bridge';
import { localDateTime } from '../format';
import { useAction } from './use-action';

/** Where this account is signed in now. Any but this console's own can be ended here. */
export function Sessions({ sessions, onChanged }: { sessions: SessionView[]; onChanged: () => void }) {
  return (
    <table className="table">
      <thead><tr><th>Computer</th><th>Address</th><th>Signed in</th><th>Last active</th><th /></tr></thead>
      <tbody>
        {sessions.map((s) => <SessionRow key={s.id} session={s} onChanged={onChanged} />)}
      </tbody>
    </table>
  );
}

function SessionRow({ session, onChanged }: { session: SessionView; onChanged: () => void }) {
  const action = useAction();
  return (
    <tr data-testid="session-row" data-current={session.current}>
      <td>{session.deviceName ?? 'Unnamed computer'}{session.current && <span className="tag">This console</span>}</td>
      <td className="mono">{session.ip ?? '—'}</td>
      <td>{localDateTime(session.createdAt)}</td>
      <td>{localDateTime(session.lastSeenAt)}</td>
      <td className="cell-actions">
        {action.error && <span className="form-error" role="alert">{action.error} </span>}
        {!session.current && (
          <button type="button" disabled={action.busy} data-testid="revoke-session"
            onClick={() => void action.run(() => call('revokeSession', { id: session.id })).then((ok) => ok && onChanged())}>
            Sign out
          </button>
        )}
      </td>
    </tr>
  );
}

/** The computers this account has signed in from. Removing one ends its sessions and wipes it. */
export function Devices({ devices, onChanged }: { devices: DeviceView[]; onChanged: () => void }) {
  if (devices.length === 0) return <p className="muted">No devices yet.</p>;
  return (
    <table className="table">
      <thead><tr><th>Name</th><th>System</th><th>First seen</th><th>Last seen</th><th>Status</th><th /></tr></thead>
      <tbody>
        {devices.map((d) => <DeviceRow key={d.id} device={d} onChanged={onChanged} />)}
      </tbody>
    </table>
  );
}

function DeviceRow({ device, onChanged }: { device: DeviceView; onChanged: () => void }) {
  const action = useAction();
  const [naming, setNaming] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const status = device.revokedAt !== null ? 'Removed' : device.trusted ? 'Trusted' : 'Not approved';

  function rename(event: FormEvent) {
    event.preventDefault();
    const name = naming?.trim();
    if (!name) return;
    void action.run(() => call('renameDevice', { id: device.id, name })).then((ok) => {
      if (!ok) return;
      setNaming(null);
      onChanged();
    });
  }

  return (
    <tr data-testid="device-row" data-current={device.current}>
      <td>
        {naming === null ? (
          <>{device.name ?? 'Unnamed computer'}{device.current && <span className="tag">This computer</span>}</>
        ) : (
          <form className="inline-form" onSubmit={rename}>
            <input aria-label="Device name" value={naming} maxLength={200} autoFocus onChange={(e) => setNaming(e.target.value)} />
            <button type="submit" className="primary" disabled={action.busy}>Save</button>
            <button type="button" onClick={() => setNaming(null)}>Cancel</button>
          </form>
        )}
      </td>
      <td>{device.platform ?? '—'}</td>
      <td>{localDateTime(device.firstSeenAt)}</td>
      <td>{localDateTime(device.lastSeenAt)}{device.lastIp && <span className="muted mono"> · {device.lastIp}</span>}</td>
      <td>{status}</td>
      <td className="cell-actions">
        {action.error && <span className="form-error" role="alert">{action.error} </span>}
        {naming === null && device.revokedAt === null && <button type="button" onClick={() => setNaming(device.name ?? '')}>Rename</button>}
        {!device.current && device.revokedAt === null && (confirming ? (
          <>
            <span className="muted">Sign it out and wipe it?</span>
            <button type="button" className="danger" disabled={action.busy} data-testid="confirm-remove-device"
              onClick={() => void action.run(() => call('revokeDevice', { id: device.id })).then((ok) => ok && onChanged())}>
              Remove
            </button>
            <button type="button" onClick={() => setConfirming(false)}>Keep</button>
          </>
        ) : <button type="button" onClick={() => setConfirming(true)} data-testid="remove-device">Remove</button>)}
      </td>
    </tr>
  );
}
