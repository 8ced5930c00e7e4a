import { useEffect, useRef, useState } from 'react';

export interface SecretOnceProps {
  /** What it is: "API key", "Webhook signing secret". */
  what: string;
  secret: string;
  /** What to do with it, in a sentence. */
  use: string;
  /** The user has it: the caller forgets it. */
  onDone: () => void;
}

/**
 * A secret made just now, shown once: in React state only (the caller's), never written to the
 * console's database or a log, gone when the user says they have it or leaves the screen. The
 * server keeps only a hash and cannot show it again. Copy selects the field and copies it with
 * the page's own copy command: the console grants the page no clipboard permission.
 */
export function SecretOnce({ what, secret, use, onDone }: SecretOnceProps) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  useEffect(() => {
    field.current?.focus();
    field.current?.select();
  }, []);

  function copy() {
    const input = field.current;
    if (!input) return;
    input.focus();
    input.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    setCopied(ok ? 'yes' : 'no');
  }

  return (
    <div className="secret-once" role="region" aria-label={`New ${what}`} data-testid="secret-once">
      <p className="notice notice-warn" role="alert">
        <strong>Copy this {what} now: it is shown only this once.</strong> Depotline keeps only a fingerprint of it and cannot show it again.
        If it is lost, make a new one. {use}
      </p>
      <div className="secret-row">
        <label className="visually-hidden" htmlFor="secret-once-value">{what}</label>
        <input id="secret-once-value" ref={field} className="secret mono" readOnly value={secret} spellCheck={false} autoComplete="off" data-testid="secret-value" />
        <button type="button" onClick={copy} data-testid="secret-copy">Copy</button>
      </div>
      {copied === 'yes' && <p className="muted" role="status">Copied. Paste it where the partner keeps secrets, not into chat or email.</p>}
      {copied === 'no' && <p className="muted" role="status">This computer did not let the console copy it: it is selected, press Ctrl+C (⌘C on a Mac).</p>}
      <div className="actions">
        <button type="button" className="primary" onClick={onDone} data-testid="secret-done">I have stored it safely</button>
      </div>
    </div>
  );
}
