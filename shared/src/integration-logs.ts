import { z } from 'zod';

/*
 * Integration logs (docs/api.md "Integration logs"): an integration's API calls, its webhook
 * attempts and its unusual-activity alerts, as its admins read them. Operational values only:
 * never a body, a query string, a header, a secret or customer data.
 */

export const maxIntegrationLogPage = 500;

/** `?since=&until=` (ms since the epoch), `?status=` (a status like `404`, or a class `4xx`), `?limit=`, `?cursor=`. */
export const IntegrationLogQuery = z.object({
  since: z.coerce.number().int().min(0).optional(),
  until: z.coerce.number().int().min(0).optional(),
  status: z.string().regex(/^(?:[1-5]\d\d|[1-5]xx)$/, 'status is a status code (404) or a class (4xx)').optional(),
  limit: z.coerce.number().int().min(1).max(maxIntegrationLogPage).default(100),
  /** From the previous page's `nextCursor`: the page continues with older entries. */
  cursor: z.string().regex(/^\d{1,16}:[A-Za-z0-9_-]{1,64}$/, 'cursor is the nextCursor of a previous page').optional(),
}).strict();
export type IntegrationLogQuery = z.infer<typeof IntegrationLogQuery>;

export const IntegrationCallView = z.object({
  id: z.string(),
  at: z.number(),
  /** The API key or OAuth client that made the call; null when none was recognised. */
  credentialId: z.string().nullable(),
  method: z.string(),
  /** The route as declared (`/api/v1/orders/:orderRef`), never the path with its ids or query. */
  route: z.string(),
  status: z.number().int(),
  latencyMs: z.number(),
  ip: z.string().nullable(),
});
export type IntegrationCallView = z.infer<typeof IntegrationCallView>;

export const IntegrationCallPage = z.object({ calls: z.array(IntegrationCallView), nextCursor: z.string().nullable() });
export type IntegrationCallPage = z.infer<typeof IntegrationCallPage>;

export const webhookAttemptOutcomes = ['delivered', 'failed', 'retrying', 'gave_up'] as const;

export const WebhookAttemptView = z.object({
  id: z.string(),
  at: z.number(),
  /** The delivery's stable `webhook-id`. */
  deliveryId: z.string(),
  subscriptionId: z.string(),
  event: z.string(),
  url: z.string(),
  attempt: z.number().int(),
  /** The receiver's HTTP status; null when none came (timeout, refused address, TLS). */
  status: z.number().int().nullable(),
  outcome: z.enum(webhookAttemptOutcomes),
  /** Why it failed: http, timeout, connect, address_refused, redirect, tls. */
  error: z.string().nullable(),
  latencyMs: z.number().nullable(),
  nextRetryAt: z.number().nullable(),
});
export type WebhookAttemptView = z.infer<typeof WebhookAttemptView>;

export const WebhookAttemptPage = z.object({ attempts: z.array(WebhookAttemptView), nextCursor: z.string().nullable() });
export type WebhookAttemptPage = z.infer<typeof WebhookAttemptPage>;

/** The unusual-activity rules (docs/security-model.md). */
export const integrationAlertRules = ['volume_spike', 'new_network', 'refused_burst', 'key_expiring'] as const;

export const IntegrationAlertView = z.object({
  id: z.string(),
  at: z.number(),
  /** The rule: one of `integrationAlertRules`. */
  kind: z.string(),
  summary: z.string(),
  credentialId: z.string().nullable(),
  /** True when the alert suspended the integration (it was set to be suspended on an alert). */
  suspended: z.boolean(),
});
export type IntegrationAlertView = z.infer<typeof IntegrationAlertView>;

export const IntegrationAlertList = z.object({ alerts: z.array(IntegrationAlertView) });
