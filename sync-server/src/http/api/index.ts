import type { LiveFeed } from '../../sync/mutations/handler';
import type { Endpoint } from '../endpoint';
import { accountEndpoints } from './account';
import { auditEndpoints } from './audit';
import { authEndpoints } from './auth';
import { deviceEndpoints } from './devices';
import { grantEndpoints } from './grants';
import { securityKeyEndpoints } from './security-keys';
import { sessionEndpoints } from './sessions';
import { syncEndpoints } from './sync';

/** What the REST API needs from the rest of the server, passed in at start-up. */
export interface ApiDeps {
  live: LiveFeed;
}

/** Every REST endpoint under /api/v1, one module per resource (docs/api.md). */
export function apiEndpoints(deps: ApiDeps): Endpoint[] {
  return [...syncEndpoints(deps.live), ...grantEndpoints(), ...auditEndpoints(), ...authEndpoints(), ...sessionEndpoints(), ...securityKeyEndpoints(), ...accountEndpoints(), ...deviceEndpoints()];
}
