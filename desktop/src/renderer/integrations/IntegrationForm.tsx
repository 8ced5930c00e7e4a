import { useState, type FormEvent } from 'react';
import {
  integrationKinds, machinePermissions, parseCidr,
  type ConsoleIntegrationFields, type ConsoleIntegrationView, type IntegrationKind, type LocationView, type MachinePermission, type OrderVisibility,
} from '@depotline/shared';
import { call } from '../bridge';
import { depotText } from '../governance/ApprovalCard';
import { useAction } from '../security/use-action';
import { kindLabel, scopeLabel } from './integration-text';

export interface IntegrationFormProps {
  /** The depot chosen in the header: the one whose `integration.manage` the request goes by. */
  location: LocationView;
  /** The user's depots; scopes may be given at those where they manage integrations. */
  locations: readonly LocationView[];
  integration?: ConsoleIntegrationView;
  onDone: (integration: ConsoleIntegrationView) => void;
  onCancel: () => void;
}

const scopesOf = (integration: ConsoleIntegrationView | undefined, fallback: string): Record<string, MachinePermission[]> =>
  integration ? Object.fromEntries(integration.scopes.map((s) => [s.location.id, [...s.scopes]])) : { [fallback]: ['status.read'] };

/** The allowlist as typed, one entry per line; blank lines are ignored. */
const entriesOf = (text: string) => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);

/**
 * Registering or editing an integration: its name and kind, what it may do at each depot (machine
 * scopes, checked like a user's grant there), and the addresses it may call from. Each allowlist
 * line is checked as it is typed; what the user typed stays on screen when the server refuses.
 * The data profile is edited on its own (ProfileEditor): a new integration starts with the default.
 */
export function IntegrationForm({ location, locations, integration, onDone, onCancel }: IntegrationFormProps) {
  const action = useAction();
  const [name, setName] = useState(integration?.name ?? '');
  const [kind, setKind] = useState<IntegrationKind>(integration?.kind ?? 'courier');
  const [contact, setContact] = useState(integration?.contact ?? '');
  const [scopes, setScopes] = useState<Record<string, MachinePermission[]>>(() => scopesOf(integration, location.id));
  const [allowlist, setAllowlist] = useState((integration?.ipAllowlist ?? []).join('\n'));
  const [autoSuspend, setAutoSuspend] = useState(integration?.autoSuspend ?? false);
  const [orderVisibility, setOrderVisibility] = useState<OrderVisibility>(integration?.orderVisibility ?? 'own');
  const managed = locations.filter((l) => l.permissions.includes('integration.manage'));
  const fixed = (integration?.scopes ?? []).filter((s) => !managed.some((m) => m.id === s.location.id));

  const entries = entriesOf(allowlist);
  const problems = entries.flatMap((e) => {
    const parsed = parseCidr(e);
    return parsed.ok ? [] : [parsed.message];
  });
  const chosen = Object.entries(scopes).filter(([, list]) => list.length > 0);

  const toggle = (locationId: string, scope: MachinePermission, on: boolean) => setScopes((s) => {
    const list = s[locationId] ?? [];
    return { ...s, [locationId]: on ? [...list, scope] : list.filter((x) => x !== scope) };
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (problems.length > 0) return;
    const fields: ConsoleIntegrationFields = {
      kind, contact: contact.trim(),
      scopes: chosen.map(([locationId, list]) => ({ locationId, scopes: list })),
      ipAllowlist: entries, autoSuspend, orderVisibility,
    };
    void action.run(async () => {
      onDone(integration
        ? await call('updateIntegration', { locationId: location.id, integrationId: integration.id, expectedVersion: integration.version, integration: fields })
        : await call('createIntegration', { locationId: location.id, name: name.trim(), integration: fields }));
    });
  }

  return (
    <form className="gov-form" onSubmit={submit} data-testid="integration-form" aria-label={integration ? `Edit integration ${integration.name}` : 'New integration'}>
      <div className="gov-inline">
        {integration ? null : (
          <label>
            Name <span className="hint">lower-case letters, digits and . _ - ; cannot be changed later</span>
            <input autoFocus required minLength={2} maxLength={64} pattern="[a-z0-9][a-z0-9._\-]*" value={name} onChange={(e) => setName(e.target.value)} data-testid="integration-name" />
          </label>
        )}
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as IntegrationKind)} data-testid="integration-kind">
            {integrationKinds.map((k) => <option key={k} value={k}>{kindLabel[k]}</option>)}
          </select>
        </label>
        <label className="grow">
          Contact <span className="hint">whom to call at the partner when something is wrong</span>
          <input required maxLength={200} value={contact} onChange={(e) => setContact(e.target.value)} data-testid="integration-contact" />
        </label>
      </div>
      <fieldset>
        <legend>What it may do, per depot</legend>
        <table className="perm-table">
          <thead>
            <tr><th scope="col">Depot</th>{machinePermissions.map((p) => <th key={p} scope="col" title={scopeLabel[p]}><span className="mono">{p}</span></th>)}</tr>
          </thead>
          <tbody>
            {managed.map((l) => (
              <tr key={l.id} data-testid="scope-row" data-location-name={l.name}>
                <th scope="row">{l.name}</th>
                {machinePermissions.map((p) => (
                  <td key={p}>
                    <input
                      type="checkbox" aria-label={`${p} at ${l.name}`} checked={(scopes[l.id] ?? []).includes(p)}
                      onChange={(e) => toggle(l.id, p, e.target.checked)}
                    />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {fixed.map((s) => <p key={s.location.id} className="muted">Also at {depotText(s.location)} ({s.scopes.join(', ')}): only its own administrators can change that.</p>)}
        {chosen.length === 0 && fixed.length === 0 && <p className="muted">Choose at least one scope at one depot.</p>}
      </fieldset>
      <label>
        IP allowlist <span className="hint">one address or CIDR block per line (IPv4 or IPv6); empty: calls from any address</span>
        <textarea
          rows={3} className="mono" value={allowlist} onChange={(e) => setAllowlist(e.target.value)} spellCheck={false}
          aria-invalid={problems.length > 0} aria-describedby="allowlist-problems" data-testid="integration-allowlist"
        />
      </label>
      {problems.length > 0 && (
        <ul className="form-error" id="allowlist-problems" data-testid="allowlist-problems">{problems.map((p) => <li key={p}>{p}</li>)}</ul>
      )}
      <label>
        Orders it reads <span className="hint">and hears of in webhooks</span>
        <select value={orderVisibility} onChange={(e) => setOrderVisibility(e.target.value as OrderVisibility)} data-testid="integration-order-visibility">
          <option value="own">Only the orders it created itself</option>
          <option value="location">Every order at its depots (courier partner, warehouse)</option>
        </select>
      </label>
      <label className="check">
        <input type="checkbox" checked={autoSuspend} onChange={(e) => setAutoSuspend(e.target.checked)} data-testid="integration-auto-suspend" />
        Suspend a credential automatically when unusual activity is noticed
      </label>
      {action.error && <p className="form-error" role="alert" data-testid="integration-form-error">{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" className="primary" disabled={action.busy || problems.length > 0 || (chosen.length === 0 && fixed.length === 0)} data-testid="integration-save">
          {integration ? 'Save integration' : 'Register integration'}
        </button>
      </div>
    </form>
  );
}
