import { useRef, useState, type FormEvent } from 'react';
import type { ScreenProps } from '../screen-props';
import { BridgeFailure, call, messageOf } from '../bridge';
import { Card } from './Card';

export function SignIn({ state }: ScreenProps<'sign_in'>) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [needsCode, setNeedsCode] = useState(false);
  /** The server asked for a second factor (or for a key only): a security key is offered beside the code. */
  const [offerKey, setOfferKey] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);
  /** The server takes only enrolled computers: the one-time token IT hands out, typed in and sent once with the sign-in. */
  const [needsToken, setNeedsToken] = useState(false);
  const [token, setToken] = useState('');
  const tokenInput = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // The new state arrives as an event too; nothing to do with the answer here.
      const enrollmentToken = token.trim();
      await call('signIn', { username, password, ...(code ? { totp: code } : {}), ...(needsToken && enrollmentToken ? { enrollmentToken } : {}) });
    } catch (err) {
      setError(messageOf(err));
      // Asked for only while the server refuses this computer as unenrolled (once enrolled, it never is again).
      setNeedsToken(err instanceof BridgeFailure && err.code === 'device_not_enrolled');
      if (err instanceof BridgeFailure && err.code === 'device_not_enrolled') {
        setTimeout(() => tokenInput.current?.focus(), 0);
      } else if (err instanceof BridgeFailure && err.code === 'webauthn_required') {
        setOfferKey(true);
        setNeedsCode(false);
        setCode('');
      } else if (err instanceof BridgeFailure && (err.code === 'mfa_required' || err.code === 'mfa_invalid' || err.code === 'mfa_replayed')) {
        setOfferKey(true);
        setNeedsCode(true);
        setCode('');
        setTimeout(() => codeInput.current?.focus(), 0);
      } else {
        setPassword('');
      }
    } finally {
      // A token is spent or refused by the attempt: it is never kept in the form.
      setToken('');
      setBusy(false);
    }
  }

  /** The same password, then the key on the server's page; main opens it and the waiting screen follows. */
  async function useKey() {
    setBusy(true);
    setError(null);
    try {
      await call('signInWithSecurityKey', { username, password });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Sign in" testId="screen-sign-in">
      {state.notice === 'signed_out' && <p className="notice" role="status">You signed out. The depot data on this computer stays encrypted.</p>}
      {state.notice === 'session_expired' && <p className="notice" role="status">Your session ended. Sign in again to carry on.</p>}
      {state.notice === 'approval_denied' && (
        <p className="notice notice-warn" role="alert" data-testid="approval-denied">
          The sign-in on this computer was refused from another device. If that was not you, change your password.
        </p>
      )}
      {state.notice === 'approval_expired' && <p className="notice" role="status">Nobody approved the sign-in in time. Sign in again to ask once more.</p>}
      {state.notice === 'security_key_failed' && (
        <p className="notice notice-warn" role="alert" data-testid="security-key-failed">The security key was not accepted. Sign in again, or use your authenticator code.</p>
      )}
      {state.notice === 'security_key_expired' && <p className="notice" role="status">The security key was not used in time. Sign in again to try once more.</p>}
      <form onSubmit={(e) => void submit(e)} className="form" aria-busy={busy}>
        <label>
          Username
          <input name="username" autoComplete="username" autoFocus required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label>
          Authenticator code {!needsCode && <span className="hint">if your account has one</span>}
          <input
            ref={codeInput}
            name="totp"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            placeholder="6 digits"
            required={needsCode}
            value={code}
            onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
          />
        </label>
        {needsToken && (
          <label>
            Enrollment token <span className="hint">from IT, once for this computer</span>
            <input
              ref={tokenInput}
              name="enrollmentToken"
              autoComplete="off"
              spellCheck={false}
              placeholder="dle_…"
              required
              value={token}
              onChange={(e) => setToken(e.target.value)}
              data-testid="enrollment-token"
            />
          </label>
        )}
        {error && <p className="form-error" role="alert" data-testid="sign-in-error">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        {offerKey && (
          <button type="button" onClick={() => void useKey()} disabled={busy || !username || !password} data-testid="use-security-key">
            Use a security key
          </button>
        )}
      </form>
      <p className="fine">Server: {state.serverUrl}</p>
    </Card>
  );
}
