import { LoginThrottle } from '../../auth/throttle';
import type { LiveFeed } from '../../sync/mutations/handler';
import type { Endpoint } from '../endpoint';
import { openApiEndpoint } from '../openapi';
import { accountEndpoints } from './account';
import { approvalEndpoints } from './approvals';
import { auditEndpoints } from './audit';
import { authEndpoints } from './auth';
import { deliveryCheckEndpoints } from './delivery-checks';
import { deviceEnrollmentEndpoints } from './device-enrollment';
import { deviceEndpoints } from './devices';
import { exportEndpoints } from './exports';
import { grantEndpoints } from './grants';
import { groupEndpoints } from './groups';
import { integrationCredentialEndpoints } from './integration-credentials';
import { integrationOrderEndpoints } from './integration-orders';
import { integrationEndpoints } from './integrations';
import { integrationLogEndpoints } from './integration-logs';
import { oauthTokenEndpoints } from './oauth-token';
import { proofGovernanceEndpoints } from './proof-governance';
import { proofEndpoints } from './proofs';
import { customerPrivacyEndpoints } from './privacy';
import { privacyRequestEndpoints } from './privacy-requests';
import { retentionEndpoints } from './retention';
import { securityKeyEndpoints } from './security-keys';
import { sessionEndpoints } from './sessions';
import { syncEndpoints } from './sync';
import { trackingLinkEndpoints } from './tracking-links';
import { webhookEndpoints } from './webhooks';

/** What the REST API needs from the rest of the server, passed in at start-up. */
export interface ApiDeps {
  live: LiveFeed;
}

/** Every REST endpoint under /api/v1, one module per resource (docs/api.md). */
export function apiEndpoints(deps: ApiDeps): Endpoint[] {
  // One sign-in throttle for every password check before a session: its per-address budget and
  // the lockout of unknown usernames are then the same at every door, so none tells names apart.
  const loginThrottle = new LoginThrottle();
  const endpoints: Endpoint[] = [
    ...integrationOrderEndpoints(deps.live),
    ...syncEndpoints(deps.live), ...deliveryCheckEndpoints(deps.live), ...grantEndpoints(), ...approvalEndpoints(deps.live), ...groupEndpoints(), ...auditEndpoints(), ...authEndpoints(loginThrottle), ...sessionEndpoints(),
    ...webhookEndpoints(), ...trackingLinkEndpoints(),
    ...securityKeyEndpoints({ loginThrottle }), ...accountEndpoints(), ...deviceEndpoints(), ...exportEndpoints(), ...integrationEndpoints(),
    ...integrationLogEndpoints(),
    ...integrationCredentialEndpoints(), ...oauthTokenEndpoints(),
    ...proofGovernanceEndpoints(),
    ...deviceEnrollmentEndpoints(loginThrottle),
    ...retentionEndpoints(deps.live),
    ...proofEndpoints(deps.live),
    ...privacyRequestEndpoints(deps.live),
    ...customerPrivacyEndpoints(deps.live),
  ];
  // The OpenAPI document describes the endpoints above that declare `openapi` (http/openapi.ts).
  return [...endpoints, openApiEndpoint(endpoints)];
}
