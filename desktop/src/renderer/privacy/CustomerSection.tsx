import { useEffect, useState, type FormEvent } from 'react';
import { consentPurposes, consentSources, type ConsentPurpose, type ConsentSource, type ConsoleCustomerView, type CustomerIdentity } from '@depotline/shared';
import { call } from '../bridge';
import { localDateTime, statusLabel } from '../format';
import { useAction } from '../security/use-action';
import { purposeLabel, sourceLabel } from './privacy-text';

/**
 * Finding a customer at the depot by phone (any common format) or email: their stops, the consent
 * in force per purpose, and the "do not sell or share" flag, each changeable here. The answer
 * lives in this component's state only; the server audits the search.
 */
export function CustomerSection({ locationId, ask }: { locationId: string; ask: { customer: CustomerIdentity; seq: number } | null }) {
  const action = useAction();
  const [phone, setPhone] = useState('');
  const [email, setEmail] = useState('');
  const [found, setFound] = useState<{ customer: CustomerIdentity; view: ConsoleCustomerView } | null>(null);
  const { run } = action;

  const find = (customer: CustomerIdentity) => run(async () => setFound({ customer, view: await call('searchCustomer', { locationId, customer }) }));
  function search(event: FormEvent) {
    event.preventDefault();
    void find({ ...(phone.trim() ? { phone: phone.trim() } : {}), ...(email.trim() ? { email: email.trim() } : {}) });
  }
  // A request's "Find their stops": its identifiers into the form, and the search run.
  useEffect(() => {
    if (!ask) return;
    setPhone(ask.customer.phone ?? '');
    setEmail(ask.customer.email ?? '');
    void run(async () => setFound({ customer: ask.customer, view: await call('searchCustomer', { locationId, customer: ask.customer }) }));
  }, [ask, locationId, run]);

  return (
    <section className="gov-section" aria-label="Find a customer" data-testid="customer-section">
      <header><h3>Find a customer</h3></header>
      <form className="gov-inline" onSubmit={search} aria-label="Search by phone or email">
        <label>Phone <input type="tel" value={phone} maxLength={32} onChange={(e) => setPhone(e.target.value)} data-testid="customer-phone" /></label>
        <label>Email <input type="email" value={email} maxLength={254} onChange={(e) => setEmail(e.target.value)} data-testid="customer-email" /></label>
        <button type="submit" disabled={action.busy || (!phone.trim() && !email.trim())} data-testid="customer-search">Search</button>
        <button type="button" onClick={() => { setFound(null); setPhone(''); setEmail(''); action.clear(); }} disabled={!found} data-testid="clear-customer">Clear</button>
      </form>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
      {found && <CustomerResult locationId={locationId} customer={found.customer} view={found.view} onView={(view) => setFound({ ...found, view })} />}
    </section>
  );
}

function CustomerResult({ locationId, customer, view, onView }: {
  locationId: string; customer: CustomerIdentity; view: ConsoleCustomerView; onView: (v: ConsoleCustomerView) => void;
}) {
  const action = useAction();
  const setSharing = (doNotSell: boolean) => void action.run(async () => onView(await call('setCustomerSharing', { locationId, customer, doNotSell })));
  return (
    <div data-testid="customer-result">
      {view.stops.length === 0 ? <p className="muted" data-testid="customer-none">No stops of this customer at this depot.</p> : (
        <table className="privacy-table" aria-label="The customer's stops">
          <thead><tr><th>Window</th><th>Order</th><th>Name</th><th>Address</th><th>Contact</th><th>Status</th></tr></thead>
          <tbody>
            {view.stops.map((s) => (
              <tr key={s.stopId} data-testid="customer-stop" data-stop-id={s.stopId} data-pseudonymised={s.pseudonymised}>
                <td>{localDateTime(s.window.end)}</td>
                <td>{s.orderRef ?? '—'}</td>
                <td>{s.pseudonymised ? <span className="muted">removed</span> : s.customerName}</td>
                <td>{s.address ?? ''}</td>
                <td>{[s.phone, s.email].filter(Boolean).join(' · ')}</td>
                <td>{statusLabel[s.status]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {view.truncated && <p className="muted">More stops matched than are shown.</p>}
      <h4>Consent</h4>
      <ul className="privacy-consents" data-testid="customer-consents">
        {consentPurposes.map((p) => {
          const c = view.consents.find((x) => x.purpose === p);
          return (
            <li key={p} data-testid={`consent-${p}`}>
              {purposeLabel[p]}: {c ? <><strong>{c.granted ? 'given' : 'withdrawn'}</strong> <span className="muted">({sourceLabel[c.source]}, {localDateTime(c.recordedAt)}, {c.recordedBy})</span></> : <span className="muted">not recorded</span>}
            </li>
          );
        })}
      </ul>
      <ConsentForm locationId={locationId} customer={customer} onView={onView} />
      <h4>Selling and sharing</h4>
      <label className="check">
        <input type="checkbox" checked={view.doNotSell} disabled={action.busy} onChange={(e) => setSharing(e.target.checked)} data-testid="do-not-sell" />
        Do not sell or share: their contact details go only to the integrations needed to deliver
      </label>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
    </div>
  );
}

function ConsentForm({ locationId, customer, onView }: { locationId: string; customer: CustomerIdentity; onView: (v: ConsoleCustomerView) => void }) {
  const action = useAction();
  const [purpose, setPurpose] = useState<ConsentPurpose>('deliveryNotifications');
  const [granted, setGranted] = useState(true);
  const [source, setSource] = useState<ConsentSource>('phone');
  function record(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => onView(await call('recordCustomerConsent', { locationId, customer, purpose, granted, source })));
  }
  return (
    <form className="gov-inline" onSubmit={record} aria-label="Record consent" data-testid="consent-form">
      <label>Purpose
        <select value={purpose} onChange={(e) => setPurpose(e.target.value as ConsentPurpose)} data-testid="consent-purpose">
          {consentPurposes.map((p) => <option key={p} value={p}>{purposeLabel[p]}</option>)}
        </select>
      </label>
      <label>Consent
        <select value={granted ? 'yes' : 'no'} onChange={(e) => setGranted(e.target.value === 'yes')} data-testid="consent-granted">
          <option value="yes">Given</option>
          <option value="no">Withdrawn</option>
        </select>
      </label>
      <label>How they told you
        <select value={source} onChange={(e) => setSource(e.target.value as ConsentSource)} data-testid="consent-source">
          {consentSources.map((s) => <option key={s} value={s}>{sourceLabel[s]}</option>)}
        </select>
      </label>
      <button type="submit" disabled={action.busy} data-testid="consent-record">Record</button>
      {action.error && <p className="form-error" role="alert">{action.error}</p>}
    </form>
  );
}
