import { useState } from 'react';
import type { ConsolePrivacyOutcome, CustomerIdentity, LocationView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { CustomerSection } from './CustomerSection';
import { HoldsSection } from './HoldsSection';
import { OutcomeNotice } from './OutcomeNotice';
import { RequestDetail } from './RequestDetail';
import { RequestForm } from './RequestForm';
import { RequestsRegister } from './RequestsRegister';
import { RetentionSection } from './RetentionSection';
import '../governance/governance.css';
import '../integrations/integrations.css';
import './privacy.css';

export interface PrivacyViewProps {
  /** The depot chosen in the header; the console shows this screen with privacy, retention or hold rights there. */
  location: LocationView;
  /** Bumped after a change here or elsewhere (an approval applied): everything re-reads. */
  version: number;
  onChanged: () => void;
}

/**
 * The Privacy screen, for admins: the register of customers' privacy requests at the depot with
 * their deadlines, the request open below it (export, erase, correct, close), finding a customer
 * (their stops, consents and sharing flag), and the depot's retention periods and legal holds.
 * Customer data is asked for when shown and kept only in this screen's state: it is gone when the
 * screen closes or the console locks.
 */
export function PrivacyView({ location, version, onChanged }: PrivacyViewProps) {
  const handles = location.permissions.includes('privacy.manage');
  const [includeClosed, setIncludeClosed] = useState(false);
  const [openId, setOpenId] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [outcome, setOutcome] = useState<ConsolePrivacyOutcome | null>(null);
  const [ask, setAsk] = useState<{ customer: CustomerIdentity; seq: number } | null>(null);
  const requests = useQuery(() => call('privacyRequests', { locationId: location.id, includeClosed }), [location.id, includeClosed, version], handles);
  const open = requests.data?.find((r) => r.id === openId) ?? null;

  return (
    <div className="governance privacy" data-testid="privacy-view">
      {handles && (
        <section className="gov-section" aria-label={`Privacy requests at ${location.name}`} data-testid="privacy-requests">
          <header>
            <h3>Privacy requests at {location.name}</h3>
            <div className="row-actions">
              <label className="check"><input type="checkbox" checked={includeClosed} onChange={(e) => setIncludeClosed(e.target.checked)} data-testid="include-closed" /> Show closed</label>
              {!creating && <button type="button" className="primary" onClick={() => setCreating(true)} data-testid="new-privacy-request">New request</button>}
            </div>
          </header>
          {creating && (
            <RequestForm
              locationId={location.id}
              onDone={(made) => { setCreating(false); setOpenId(made.id); onChanged(); }}
              onCancel={() => setCreating(false)}
            />
          )}
          {outcome && <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} />}
          {requests.error && <p className="form-error" role="alert">{requests.error}</p>}
          <RequestsRegister requests={requests.data} loading={requests.loading} openId={openId} onOpen={(id) => setOpenId(id === openId ? null : id)} />
        </section>
      )}
      {handles && open && <RequestDetail key={open.id} locationId={location.id} request={open} onChanged={onChanged} onOutcome={setOutcome} onFind={(customer) => setAsk((a) => ({ customer, seq: (a?.seq ?? 0) + 1 }))} />}
      {handles && <CustomerSection key={`customer-${location.id}`} locationId={location.id} ask={ask} />}
      <RetentionSection locationId={location.id} version={version} onChanged={onChanged} />
      {location.permissions.includes('legalHold.manage') && <HoldsSection locationId={location.id} version={version} onChanged={onChanged} />}
    </div>
  );
}
