import type { ScreenProps } from '../screen-props';
import { call } from '../bridge';
import { useNow } from '../console/hooks';
import { Card } from './Card';

/**
 * Sign-in with a security key: the server's own page is open in the browser, where the key is
 * used (WebAuthn is bound to the server's origin, not the console's). Main waits for it; this
 * screen only shows the wait and lets the user give up.
 */
export function AwaitingSecurityKey({ state }: ScreenProps<'awaiting_security_key'>) {
  const now = useNow(1000);
  const left = Math.max(0, Math.ceil((state.expiresAt - now) / 60_000));
  return (
    <Card title="Use your security key in the browser" testId="screen-awaiting-security-key">
      <p className="who"><strong>{state.username}</strong></p>
      <p>
        A Depotline page has opened in your web browser. Check that its address is your Depotline server, press
        <strong> Use security key</strong> there and touch your key. This console signs in as soon as that is done.
      </p>
      <p className="waiting" role="status" aria-live="polite">
        <span className="spinner" aria-hidden="true" /> Waiting for the key… the request ends in {left} min.
      </p>
      <div className="actions">
        <button type="button" onClick={() => void call('backToSignIn')} data-testid="cancel-security-key">Cancel</button>
      </div>
    </Card>
  );
}
