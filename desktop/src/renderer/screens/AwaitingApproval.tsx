import type { ScreenProps } from '../screen-props';
import { call } from '../bridge';
import { useNow } from '../console/hooks';
import { Card } from './Card';

/**
 * A sign-in from a computer this account has not used before waits here until the user (or an
 * admin of their depot) approves it from a computer they already use. Main polls the server;
 * this screen only shows the wait and lets the user give up.
 */
export function AwaitingApproval({ state }: ScreenProps<'awaiting_approval'>) {
  const now = useNow(1000);
  const left = Math.max(0, Math.ceil((state.expiresAt - now) / 60_000));
  return (
    <Card title="Waiting for approval on another device" testId="screen-awaiting-approval">
      <p className="who"><strong>{state.username}</strong></p>
      <p>
        This is the first time your account signs in on this computer, so the sign-in needs approving. Open Depotline on a
        computer you already use, go to <strong>Security</strong> and approve this sign-in. Or ask an administrator of your depot.
      </p>
      <p className="waiting" role="status" aria-live="polite">
        <span className="spinner" aria-hidden="true" /> Waiting… the request ends in {left} min.
      </p>
      <div className="actions">
        <button type="button" onClick={() => void call('backToSignIn')} data-testid="cancel-approval">Cancel</button>
      </div>
    </Card>
  );
}
