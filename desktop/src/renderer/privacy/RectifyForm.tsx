import { useState, type FormEvent } from 'react';
import type { ConsolePrivacyOutcome } from '@depotline/shared';
import { call } from '../bridge';
import { useAction } from '../security/use-action';

/** The corrected details, applied to every stop of the customer (a field left empty stays as it is). */
export function RectifyForm({ at, onDone }: { at: { locationId: string; requestId: string }; onDone: (o: ConsolePrivacyOutcome) => void }) {
  const action = useAction();
  const [fields, setFields] = useState({ customerName: '', address: '', phone: '', email: '' });
  const changes: Partial<Record<keyof typeof fields, string>> = {};
  for (const key of Object.keys(fields) as (keyof typeof fields)[]) {
    const value = fields[key].trim();
    if (value) changes[key] = value;
  }
  function submit(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      onDone(await call('rectifyPrivacyRequest', { ...at, changes }));
      setFields({ customerName: '', address: '', phone: '', email: '' });
    });
  }
  const field = (key: keyof typeof fields, label: string, type = 'text') => (
    <label>{label}
      <input type={type} value={fields[key]} maxLength={key === 'address' ? 500 : 200} onChange={(e) => setFields((f) => ({ ...f, [key]: e.target.value }))} data-testid={`rectify-${key}`} />
    </label>
  );
  return (
    <form className="gov-form privacy-action" onSubmit={submit} aria-label="Correct the customer's details" data-testid="rectify-form">
      <div className="gov-inline">
        {field('customerName', 'Name')}
        {field('address', 'Address')}
        {field('phone', 'Phone', 'tel')}
        {field('email', 'Email', 'email')}
      </div>
      <p className="hint">Every stop of the customer is corrected, here and on every console as it syncs.</p>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      <div className="actions"><button type="submit" className="primary" disabled={action.busy || Object.keys(changes).length === 0} data-testid="rectify-save">Correct everywhere</button></div>
    </form>
  );
}
