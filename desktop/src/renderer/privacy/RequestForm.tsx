import { useState, type FormEvent } from 'react';
import { privacyLaws, privacyRequestKinds, type ConsolePrivacyRequestView, type PrivacyLaw, type PrivacyRequestKind } from '@depotline/shared';
import { call } from '../bridge';
import { useAction } from '../security/use-action';
import { kindLabel, lawLabel } from './privacy-text';

/**
 * A request as it was received: what the customer asks, under which law (the server sets the
 * deadline from it), when it arrived, and how to find them (phone, email or both).
 */
export function RequestForm({ locationId, onDone, onCancel }: { locationId: string; onDone: (made: ConsolePrivacyRequestView) => void; onCancel: () => void }) {
  const action = useAction();
  const [kind, setKind] = useState<PrivacyRequestKind>('access');
  const [law, setLaw] = useState<PrivacyLaw>('gdpr');
  const [received, setReceived] = useState(() => new Date().toISOString().slice(0, 10));
  const [name, setName] = useState('');
  const [phone, setPhone] = useState('');
  const [email, setEmail] = useState('');
  const [reference, setReference] = useState('');

  function submit(event: FormEvent) {
    event.preventDefault();
    const receivedAt = Date.parse(`${received}T12:00:00`);
    void action.run(async () => {
      const made = await call('createPrivacyRequest', {
        locationId,
        request: {
          kind, law, ...(Number.isFinite(receivedAt) && receivedAt <= Date.now() ? { receivedAt } : {}),
          subject: { ...(name.trim() ? { customerName: name.trim() } : {}), ...(phone.trim() ? { phone: phone.trim() } : {}), ...(email.trim() ? { email: email.trim() } : {}) },
          ...(reference.trim() ? { reference: reference.trim() } : {}),
        },
      });
      onDone(made);
    });
  }

  return (
    <form className="gov-form" onSubmit={submit} aria-label="New privacy request" data-testid="privacy-request-form">
      <div className="gov-inline">
        <label>What they ask
          <select value={kind} onChange={(e) => setKind(e.target.value as PrivacyRequestKind)} data-testid="request-kind">
            {privacyRequestKinds.map((k) => <option key={k} value={k}>{kindLabel[k]}</option>)}
          </select>
        </label>
        <label>Law
          <select value={law} onChange={(e) => setLaw(e.target.value as PrivacyLaw)} data-testid="request-law">
            {privacyLaws.map((l) => <option key={l} value={l}>{lawLabel[l]}</option>)}
          </select>
        </label>
        <label>Received on
          <input type="date" value={received} max={new Date().toISOString().slice(0, 10)} onChange={(e) => setReceived(e.target.value)} data-testid="request-received" />
        </label>
        <label>Your reference <span className="hint">optional, no personal data</span>
          <input value={reference} maxLength={100} onChange={(e) => setReference(e.target.value)} data-testid="request-reference" />
        </label>
      </div>
      <fieldset>
        <legend>The customer</legend>
        <div className="gov-inline">
          <label>Name <input value={name} maxLength={200} onChange={(e) => setName(e.target.value)} data-testid="request-name" /></label>
          <label>Phone <input type="tel" value={phone} maxLength={32} onChange={(e) => setPhone(e.target.value)} data-testid="request-phone" /></label>
          <label>Email <input type="email" value={email} maxLength={254} onChange={(e) => setEmail(e.target.value)} data-testid="request-email" /></label>
        </div>
        <p className="hint">The phone number or the email finds the customer&rsquo;s stops; give at least one.</p>
      </fieldset>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" className="primary" disabled={action.busy || (!phone.trim() && !email.trim())} data-testid="request-save">Register request</button>
      </div>
    </form>
  );
}
