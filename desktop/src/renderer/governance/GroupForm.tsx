import { useState, type FormEvent } from 'react';
import {
  userPermissions, groupChangeNeedsApproval, permissionCatalogue, sensitivePermissionsInWords,
  type GroupChangeResult, type GroupFields, type GroupView, type LocationView, type Permission,
} from '@depotline/shared';
import { call } from '../bridge';
import { useAction } from '../security/use-action';

type Choice = 'none' | 'allow' | 'deny';

export interface GroupFormProps {
  /** The depot chosen in the header: the one whose `group.manage` the request goes by. */
  location: LocationView;
  /** The user's depots; the scope may name those where they manage groups. */
  locations: readonly LocationView[];
  /** The group to edit; absent for a new one. */
  group?: GroupView;
  onDone: (result: GroupChangeResult) => void;
  onCancel: () => void;
}

function initialChoices(group: GroupView | undefined): Record<Permission, Choice> {
  return Object.fromEntries(userPermissions.map((p) => [
    p, group?.permissions.includes(p) ? 'allow' : group?.denials.includes(p) ? 'deny' : 'none',
  ])) as Record<Permission, Choice>;
}

/**
 * Creating or editing a group: each catalogue permission, with its description, is allowed,
 * denied or left out; the scope is chosen among the depots where the user manages groups
 * (depots already in the scope that they do not manage stay as they are). What the user typed
 * stays on screen when the server refuses, with the reason. A change that needs a second
 * person comes back as a request: the caller shows it.
 */
export function GroupForm({ location, locations, group, onDone, onCancel }: GroupFormProps) {
  const action = useAction();
  const [name, setName] = useState(group?.name ?? '');
  const [description, setDescription] = useState(group?.description ?? '');
  const [choices, setChoices] = useState(() => initialChoices(group));
  const managed = locations.filter((l) => l.permissions.includes('group.manage'));
  const fixed = (group?.locations ?? []).filter((l) => !managed.some((m) => m.id === l.id));
  const [scope, setScope] = useState<string[]>(() => group ? group.locations.map((l) => l.id) : [location.id]);
  const [mfaRequired, setMfaRequired] = useState(group?.mfaRequired ?? true);
  const [mustExpire, setMustExpire] = useState(group?.mustExpire ?? false);
  const [reason, setReason] = useState('');
  const [needsReason, setNeedsReason] = useState(false);

  function submit(event: FormEvent) {
    event.preventDefault();
    const fields: GroupFields = {
      name: name.trim(), description: description.trim(),
      permissions: userPermissions.filter((p) => choices[p] === 'allow'),
      denials: userPermissions.filter((p) => choices[p] === 'deny'),
      locationIds: scope, mfaRequired, mustExpire,
    };
    const withReason = reason.trim() ? { reason: reason.trim() } : {};
    void action.run(async () => {
      try {
        const result = group
          ? await call('updateGroup', { locationId: location.id, id: group.id, expectedVersion: group.version, group: fields, ...withReason })
          : await call('createGroup', { locationId: location.id, group: fields, ...withReason });
        onDone(result);
      } catch (err) {
        if ((err as { code?: string }).code === 'approval_required') setNeedsReason(true);
        throw err;
      }
    });
  }

  const toggleScope = (id: string, on: boolean) => setScope((s) => (on ? [...s, id] : s.filter((x) => x !== id)));
  const nothingChosen = userPermissions.every((p) => choices[p] === 'none');
  // The rule the server applies (shared/) to creating or widening a group that allows a sensitive
  // permission. The server also asks a second person for a denial of one that a holder of the group
  // has; the form cannot see the holders, so that request comes back asking for the reason.
  const mustBeApproved = needsReason || groupChangeNeedsApproval(
    group ? { permissions: group.permissions, denials: group.denials, locationIds: group.locations.map((l) => l.id), mfaRequired: group.mfaRequired, mustExpire: group.mustExpire } : null,
    { permissions: userPermissions.filter((p) => choices[p] === 'allow'), denials: userPermissions.filter((p) => choices[p] === 'deny'), locationIds: scope, mfaRequired, mustExpire },
  );

  return (
    <form className="gov-form" onSubmit={submit} data-testid="group-form" aria-label={group ? `Edit group ${group.name}` : 'New group'}>
      <label>
        Name <span className="hint">lower-case letters, digits and . _ - (not a role name)</span>
        <input autoFocus required maxLength={64} pattern="[a-z0-9][a-z0-9._\-]*" value={name} onChange={(e) => setName(e.target.value)} data-testid="group-name" />
      </label>
      <label>
        Description <span className="hint">what the group is for</span>
        <input maxLength={500} value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <fieldset>
        <legend>Permissions</legend>
        <p className="muted">Allow gives the permission at the depots of a grant. Deny takes it away there, whatever another grant gives.</p>
        <table className="perm-table">
          <tbody>
            {userPermissions.map((p) => (
              <tr key={p}>
                <td><label htmlFor={`perm-${p}`}>{p}</label></td>
                <td>{permissionCatalogue[p]}</td>
                <td>
                  <select id={`perm-${p}`} value={choices[p]} onChange={(e) => setChoices({ ...choices, [p]: e.target.value as Choice })} data-testid={`perm-${p}`}>
                    <option value="none">—</option>
                    <option value="allow">Allow</option>
                    <option value="deny">Deny</option>
                  </select>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </fieldset>
      <fieldset>
        <legend>Where it may be granted</legend>
        {managed.map((l) => (
          <label key={l.id} className="check">
            <input type="checkbox" checked={scope.includes(l.id)} onChange={(e) => toggleScope(l.id, e.target.checked)} />
            {l.name}
          </label>
        ))}
        {fixed.map((l) => (
          <p key={l.id} className="muted">Also {l.name ?? `a depot you do not manage (${l.id})`}: only its own administrators can take it out.</p>
        ))}
      </fieldset>
      <label className="check">
        <input type="checkbox" checked={mfaRequired} onChange={(e) => setMfaRequired(e.target.checked)} />
        Holders must sign in with a second factor
      </label>
      <label className="check">
        <input type="checkbox" checked={mustExpire} onChange={(e) => setMustExpire(e.target.checked)} />
        Grants of this group must have an end date
      </label>
      {mustBeApproved && (
        <p className="notice notice-warn" data-testid="group-needs-approval">
          This {group ? 'change' : 'group'} gives permissions that {sensitivePermissionsInWords()}, so a second person has to approve it before it takes effect.
        </p>
      )}
      <label>
        Why <span className="hint">{mustBeApproved ? 'required: the approver reads this' : 'optional'}</span>
        <textarea rows={2} maxLength={1000} required={mustBeApproved} minLength={mustBeApproved ? 3 : undefined} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="group-reason" />
      </label>
      {nothingChosen && <p className="muted">Choose at least one permission to allow or deny.</p>}
      {scope.length === 0 && <p className="muted">Choose at least one depot.</p>}
      {action.error && <p className="form-error" role="alert" data-testid="group-form-error">{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" className="primary" disabled={action.busy || nothingChosen || scope.length === 0} data-testid="group-save">
          {mustBeApproved ? 'Ask for approval' : group ? 'Save group' : 'Create group'}
        </button>
      </div>
    </form>
  );
}
