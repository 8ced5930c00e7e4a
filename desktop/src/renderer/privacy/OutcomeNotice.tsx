import type { ConsolePrivacyOutcome } from '@depotline/shared';
import { HoldsKept } from './HoldsKept';

/**
 * What the last erasure or correction did, above the register: it stays when the request closes
 * itself (an erasure nothing kept) and leaves the list of open requests.
 */
export function OutcomeNotice({ outcome, onDismiss }: { outcome: ConsolePrivacyOutcome; onDismiss: () => void }) {
  const erasure = outcome.request.kind === 'erasure';
  return (
    <div className="notice" role="status" data-testid="privacy-outcome" data-request-id={outcome.request.id}>
      <div className="gov-row-head">
        <strong>{erasure ? 'Erasure' : 'Correction'}: {outcome.summary}</strong>
        <button type="button" className="link-button" onClick={onDismiss}>Dismiss</button>
      </div>
      {outcome.approval
        ? <p className="muted" data-testid="outcome-pending">Waiting for approval by a second admin (request {outcome.approval.id}).</p>
        : (
          <p className="muted" data-testid="outcome-counts">
            {outcome.stopsFound} {outcome.stopsFound === 1 ? 'stop' : 'stops'} found, {outcome.stopsChanged} {erasure ? 'erased' : 'corrected'}
          </p>
        )}
      {outcome.holds.length > 0 && <HoldsKept holds={outcome.holds} stops={outcome.heldStops} />}
      {outcome.request.status === 'closed' && <p className="muted">The request is closed{outcome.request.subject === null ? ' and keeps none of the customer\u2019s data' : ''}.</p>}
    </div>
  );
}
