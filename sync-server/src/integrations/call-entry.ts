/** One call of the integration API, as the integration endpoint reports it to the call log (call-log.ts). */
export interface IntegrationCallEntry {
  integrationId: string;
  /** An API key id, or an OAuth access token's id (logged as its client's id: tokens live minutes). */
  credentialId: string | null;
  method: string;
  /** The route as declared (`/api/v1/orders/:orderRef`), never the request's path. */
  route: string;
  status: number;
  latencyMs: number;
  ip: string | null;
  at: number;
}
