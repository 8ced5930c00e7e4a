import { useState, type FormEvent } from 'react';
import type { ScreenProps } from '../screen-props';
import { call, messageOf } from '../bridge';
import { QrCode } from '../ui/QrCode';
import { Card } from './Card';

/** First sign-in of a role that must use MFA: scan the key, prove it with a code (RFC 6238). */
export function EnrollMfa({ state }: ScreenProps<'enroll_mfa'>) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const grouped = state.secretBase32.replace(/(.{4})/g, '$1 ').trim();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call('confirmMfaEnrollment', { code });
    } catch (err) {
      setError(messageOf(err));
      setCode('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Set up your authenticator app" testId="screen-enroll-mfa">
      <p>
        Your role needs a second factor. Scan this code with an authenticator app (for example Aegis, Google Authenticator or
        1Password), then enter the 6-digit code it shows.
      </p>
      <div className="enroll">
        <QrCode text={state.otpauthUri} label={`Authenticator key for ${state.username}`} />
        <div>
          <p className="hint">Cannot scan? Enter this key by hand:</p>
          <code className="secret" data-testid="totp-secret">{grouped}</code>
        </div>
      </div>
      <form onSubmit={(e) => void submit(e)} className="form">
        <label>
          Code from the app
          <input
            name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required autoFocus
            value={code} onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
          />
        </label>
        {error && <p className="form-error" role="alert">{error}</p>}
        <div className="actions">
          <button type="button" onClick={() => void call('backToSignIn')}>Cancel</button>
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Checking…' : 'Confirm and sign in'}</button>
        </div>
      </form>
    </Card>
  );
}
