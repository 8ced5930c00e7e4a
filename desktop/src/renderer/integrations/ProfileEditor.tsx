import { useState, type FormEvent } from 'react';
import { profileFields, sensitiveProfileFields, type ApprovalView, type ConsoleIntegrationView, type ProfileField } from '@depotline/shared';
import { call } from '../bridge';
import { ApprovalCard } from '../governance/ApprovalCard';
import { useAction } from '../security/use-action';
import { profileFieldLabel } from './integration-text';

const sensitive = new Set<ProfileField>(sensitiveProfileFields);

/**
 * The data profile: the fields this integration receives, in every REST answer and webhook
 * payload (the server filters both in one place). Contact and billing fields are marked: turning
 * one on is asked of a second admin, so the change waits as a request until approved.
 */
export function ProfileEditor({ locationId, integration, onChanged }: { locationId: string; integration: ConsoleIntegrationView; onChanged: () => void }) {
  const action = useAction();
  const [chosen, setChosen] = useState<ReadonlySet<ProfileField>>(() => new Set(integration.profile));
  const [reason, setReason] = useState('');
  const [pending, setPending] = useState<ApprovalView | null>(null);
  const [saved, setSaved] = useState(false);
  const turnsOnSensitive = [...chosen].some((f) => sensitive.has(f) && !integration.profile.includes(f));
  const changed = chosen.size !== integration.profile.length || integration.profile.some((f) => !chosen.has(f));

  const toggle = (field: ProfileField, on: boolean) => {
    setSaved(false);
    setChosen((s) => {
      const next = new Set(s);
      if (on) next.add(field);
      else next.delete(field);
      return next;
    });
  };

  function submit(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      const result = await call('setIntegrationProfile', {
        locationId, integrationId: integration.id, expectedVersion: integration.version, profile: profileFields.filter((f) => chosen.has(f)),
        ...(reason.trim() ? { reason: reason.trim() } : {}),
      });
      if (result.outcome === 'pending_approval') {
        // Nothing changed yet: the boxes show what the partner receives now, the request below what it asked.
        setPending(result.approval);
        setChosen(new Set(integration.profile));
      } else {
        setPending(null);
        setSaved(true);
      }
      setReason('');
      onChanged();
    });
  }

  return (
    <form className="gov-form" onSubmit={submit} aria-label={`Data profile of ${integration.name}`} data-testid="profile-editor">
      <fieldset disabled={!integration.editable}>
        <legend>What {integration.name} receives</legend>
        <p className="muted" id="profile-sensitive-note">
          Fields marked <span className="gov-chip deny">contact</span> or <span className="gov-chip deny">billing</span> are customer data
          beyond what a delivery needs: turning one on needs a second admin&rsquo;s approval, and waits until someone approves it.
        </p>
        <div className="profile-grid">
          {profileFields.map((f) => (
            <label key={f} className="check" data-testid={`profile-${f}`}>
              <input
                type="checkbox" checked={chosen.has(f)} onChange={(e) => toggle(f, e.target.checked)}
                aria-describedby={sensitive.has(f) ? 'profile-sensitive-note' : undefined}
              />
              {profileFieldLabel[f]}
              {sensitive.has(f) && <span className="gov-chip deny">{f === 'billing' ? 'billing' : 'contact'}</span>}
            </label>
          ))}
        </div>
      </fieldset>
      {turnsOnSensitive && (
        <>
          <p className="notice notice-warn" data-testid="profile-needs-approval">
            This turns on customer contact or billing data for {integration.name}, so a second admin has to approve it before anything more is sent.
          </p>
          <label>
            Why <span className="hint">required: the approver reads this</span>
            <textarea rows={2} maxLength={1000} required minLength={3} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="profile-reason" />
          </label>
        </>
      )}
      {action.error && <p className="form-error" role="alert" data-testid="profile-error">{action.error}</p>}
      {saved && <p className="notice" role="status" data-testid="profile-saved">Data profile saved.</p>}
      {pending && (
        <div className="notice" role="status" data-testid="profile-pending">
          <strong>Waiting for approval.</strong> Nothing more is sent to {integration.name} until a second admin approves; you can follow it under Approvals.
          <ApprovalCard approval={pending} onChanged={onChanged} />
        </div>
      )}
      {integration.editable && (
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy || !changed} data-testid="profile-save">
            {turnsOnSensitive ? 'Ask for approval' : 'Save data profile'}
          </button>
        </div>
      )}
    </form>
  );
}
