import { useState, type FormEvent } from 'react';
import { minPasswordLength } from '@depotline/shared';
import { call } from '../bridge';
import { useAction } from './use-action';

const empty = { current: '', next: '', again: '', keep: false };

/** A new password; the other sessions end unless the user keeps them. This console stays signed in. */
export function ChangePassword({ onChanged }: { onChanged: () => void }) {
  const action = useAction();
  const [form, setForm] = useState(empty);
  const [open, setOpen] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [mismatch, setMismatch] = useState(false);

  function submit(event: FormEvent) {
    event.preventDefault();
    setMismatch(form.next !== form.again);
    if (form.next !== form.again) return;
    void action.run(async () => {
      const result = await call('changePassword', { currentPassword: form.current, newPassword: form.next, keepOtherSessions: form.keep });
      setDone(result.sessionsEnded > 0 ? `Password changed. ${result.sessionsEnded} other session${result.sessionsEnded === 1 ? '' : 's'} ended.` : 'Password changed.');
      setForm(empty);
      setOpen(false);
      onChanged();
    });
  }

  if (!open) {
    return (
      <div>
        {done && <p className="notice" role="status" data-testid="password-changed">{done}</p>}
        <p className="muted">Use it to sign in and to unlock this console.</p>
        <button type="button" onClick={() => { setOpen(true); setDone(null); }} data-testid="change-password">Change password</button>
      </div>
    );
  }
  return (
    <form className="form" onSubmit={submit}>
      <label>
        Current password
        <input type="password" autoComplete="current-password" required value={form.current} onChange={(e) => setForm({ ...form, current: e.target.value })} />
      </label>
      <label>
        New password <span className="hint">at least {minPasswordLength} characters</span>
        <input type="password" autoComplete="new-password" minLength={minPasswordLength} required value={form.next} onChange={(e) => setForm({ ...form, next: e.target.value })} />
      </label>
      <label>
        New password again
        <input type="password" autoComplete="new-password" minLength={minPasswordLength} required value={form.again} onChange={(e) => setForm({ ...form, again: e.target.value })} />
      </label>
      <label className="check">
        <input type="checkbox" checked={form.keep} onChange={(e) => setForm({ ...form, keep: e.target.checked })} />
        Keep my other sessions signed in
      </label>
      {mismatch && <p className="form-error" role="alert">The two new passwords are not the same.</p>}
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={() => { setOpen(false); setForm(empty); action.clear(); }}>Cancel</button>
        <button type="submit" className="primary" disabled={action.busy}>Change password</button>
      </div>
    </form>
  );
}
