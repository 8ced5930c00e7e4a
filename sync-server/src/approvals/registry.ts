import type { SensitiveActionRegistry } from './action';
import { bulkExport } from './actions/bulk-export';
import { factorsReset } from './actions/factors-reset';
import { integrationProfile } from './actions/integration-profile';
import { mfaDisable } from './actions/mfa-disable';
import { privilegedGrant } from './actions/privileged-grant';
import { privacyErase } from './actions/privacy-erase';
import { legalHoldRelease } from './actions/legal-hold-release';
import { proofDelete } from './actions/proof-delete';
import { retentionWiden } from './actions/retention-widen';
import { sensitiveGroup } from './actions/sensitive-group';

/**
 * The server's handler of every sensitive action in the catalogue (shared/src/approvals.ts).
 * Typed over `SensitiveActionKind`: a kind declared there without a line here does not compile.
 */
export const approvalHandlers: SensitiveActionRegistry = {
  'grant.privileged': privilegedGrant,
  'user.mfaDisable': mfaDisable,
  'user.factorsReset': factorsReset,
  'export.bulk': bulkExport,
  'group.sensitive': sensitiveGroup,
  'integration.profile': integrationProfile,
  'pod.delete': proofDelete,
  'retention.widen': retentionWiden,
  'legalHold.release': legalHoldRelease,
  'privacy.erase': privacyErase,
};
