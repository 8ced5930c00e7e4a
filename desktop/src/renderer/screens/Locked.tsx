import { useState, type FormEvent } from 'react';
import type { ScreenProps } from '../screen-props';
import { call, messageOf } from '../bridge';
import { Card } from './Card';

const reasonText = { idle: 'The console locked itself after a period without use.', manual: 'The console is locked.', system: 'The console locked with the computer.' } as const;

/** Shows no depot data at all: the console's data views are unmounted while locked. */
export function Locked({ state }: ScreenProps<'locked'>) {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call('unlock', { password });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setPassword('');
      setBusy(false);
    }
  }

  return (
    <Card title="Locked" testId="screen-locked">
      <p>{reasonText[state.reason]} Enter your password to carry on.</p>
      <p className="who"><strong>{state.user.displayName}</strong> <span className="hint">{state.user.username}</span></p>
      <form onSubmit={(e) => void submit(e)} className="form">
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && <p className="form-error" role="alert">{error}</p>}
        <div className="actions">
          <button type="button" onClick={() => void call('signOut')}>Sign out</button>
          <button type="submit" className="primary" disabled={busy}>Unlock</button>
        </div>
      </form>
    </Card>
  );
}
