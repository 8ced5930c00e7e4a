import { useState, type FormEvent } from 'react';
import { minPasswordLength } from '@depotline/shared';
import type { ScreenProps } from '../screen-props';
import { call, messageOf } from '../bridge';
import { Card } from './Card';

/** After an administrator's reset: the one-time password got the user here; a new one of their own finishes the sign-in. */
export function NewPassword({ state }: ScreenProps<'password_change_required'>) {
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (password !== again) {
      setError('The two passwords are not the same.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await call('completePasswordChange', { newPassword: password });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Choose a new password" testId="screen-new-password">
      <p className="who"><strong>{state.username}</strong></p>
      <p>
        An administrator reset your password. Choose a new one that only you know: at least {minPasswordLength} characters; a
        few unrelated words make a good one.
      </p>
      <form onSubmit={(e) => void submit(e)} className="form" aria-busy={busy}>
        <label>
          New password
          <input name="new-password" type="password" autoComplete="new-password" minLength={minPasswordLength} required autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label>
          New password again
          <input name="new-password-again" type="password" autoComplete="new-password" minLength={minPasswordLength} required value={again} onChange={(e) => setAgain(e.target.value)} />
        </label>
        {error && <p className="form-error" role="alert">{error}</p>}
        <div className="actions">
          <button type="button" onClick={() => void call('backToSignIn')}>Cancel</button>
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : 'Set password and sign in'}</button>
        </div>
      </form>
    </Card>
  );
}
