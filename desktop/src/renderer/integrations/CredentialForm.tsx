import { useState, type FormEvent } from 'react';
import type { ConsoleIntegrationView, MachinePermission } from '@depotline/shared';
import { useAction } from '../security/use-action';
import { daysFrom, endOfDay, scopeLabel } from './integration-text';

/** The scopes the integration holds somewhere: a credential may carry these, no more. */
export const heldScopes = (integration: ConsoleIntegrationView): MachinePermission[] => [...new Set(integration.scopes.flatMap((s) => s.scopes))];

export interface CredentialFields {
  name: string;
  scopes: MachinePermission[];
  expiresAt: number;
}

/**
 * A new API key or OAuth client: a name, scopes among those the integration holds, and an expiry
 * (required; the server refuses one beyond its policy). `create` makes it and shows its secret.
 */
export function NewCredentialForm({ what, testPrefix, offered, create, onCancel }: {
  what: string; testPrefix: string; offered: readonly MachinePermission[]; create: (fields: CredentialFields) => Promise<void>; onCancel: () => void;
}) {
  const action = useAction();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<MachinePermission[]>([...offered]);
  const [expires, setExpires] = useState(() => daysFrom(Date.now(), 90));
  const expiresAt = endOfDay(expires);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (expiresAt === null) return;
    void action.run(() => create({ name: name.trim(), scopes, expiresAt }));
  }

  return (
    <form className="gov-form" onSubmit={submit} aria-label={`New ${what}`} data-testid={`${testPrefix}-form`}>
      <label>
        Name <span className="hint">where it is used, e.g. &ldquo;web shop production&rdquo;</span>
        <input autoFocus required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} data-testid={`${testPrefix}-name`} />
      </label>
      <fieldset>
        <legend>Scopes</legend>
        {offered.length === 0 && <p className="muted">The integration holds no scopes yet: give it some first.</p>}
        {offered.map((s) => (
          <label key={s} className="check">
            <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes((list) => (e.target.checked ? [...list, s] : list.filter((x) => x !== s)))} />
            <span className="mono">{s}</span> <span className="muted">{scopeLabel[s] ?? ''}</span>
          </label>
        ))}
      </fieldset>
      <label>
        Expires on <span className="hint">required; the server refuses dates beyond its policy</span>
        <input type="date" required value={expires} onChange={(e) => setExpires(e.target.value)} data-testid={`${testPrefix}-expires`} />
      </label>
      {action.error && <p className="form-error" role="alert" data-testid={`${testPrefix}-error`}>{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" className="primary" disabled={action.busy || scopes.length === 0 || expiresAt === null || name.trim() === ''} data-testid={`${testPrefix}-create`}>
          Create {what}
        </button>
      </div>
    </form>
  );
}
