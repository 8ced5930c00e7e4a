import { IntegrationAlertList, IntegrationCallPage, IntegrationLogQuery, maxIntegrationLogPage, WebhookAttemptPage } from '@depotline/shared';
import { z } from 'zod';
import { viewAt } from '../../access/access-profile';
import type { Caller } from '../../access/caller';
import type { AuditEvent } from '../../audit/audit-log';
import type { Db } from '../../db/database';
import { notFound } from '../../errors';
import { scopedLocationIds } from '../../integrations/integration-alerts';
import { listIntegrationAlerts, listIntegrationCalls, listWebhookAttempts } from '../../integrations/integration-log-read';
import { type Endpoint, endpoint } from '../endpoint';
import { adminOpenApi } from '../openapi';

/*
 * An integration's logs (docs/api.md, "Integration logs"): its API calls, its webhook attempts and
 * its unusual-activity alerts, newest first. Readable by holders of `integration.manage` at one
 * location of the integration's scope at least, as the integration itself is; to anyone else the
 * integration does not exist (404), and the refusal is audited.
 */

const params = z.object({ integrationId: z.string().min(1).max(64) });
const alertQuery = z.object({ limit: z.coerce.number().int().min(1).max(maxIntegrationLogPage).default(100) }).strict();

/** The integration's locations, if the caller may read its logs; otherwise it does not exist. */
async function readableIntegration(
  call: { db: Db; caller: Caller; now: number; audit: (event: AuditEvent) => void },
  integrationId: string,
  action: string,
): Promise<void> {
  const locationIds = await scopedLocationIds(call.db, integrationId);
  const mine = locationIds.filter((l) => viewAt(call.caller.profile, l, call.now)?.general.has('integration.manage'));
  if (mine.length > 0) return;
  call.audit({ action, outcome: 'denied', targetType: 'integration', targetId: integrationId, locationId: null, details: { permission: 'integration.manage' } });
  throw notFound('The integration');
}

export function integrationLogEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId/calls',
      params,
      query: IntegrationLogQuery,
      openapi: adminOpenApi('listIntegrationCalls', 'The integration\u2019s API calls, newest first (no bodies)', { 200: { description: 'A page of calls.', schema: IntegrationCallPage } }),
      handle: async (call) => {
        await readableIntegration(call, call.input.params.integrationId, 'integration.logs.read');
        return listIntegrationCalls(call.db, call.input.params.integrationId, call.input.query);
      },
    }),
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId/webhook-attempts',
      params,
      query: IntegrationLogQuery,
      openapi: adminOpenApi('listWebhookAttempts', 'The integration\u2019s webhook attempts, newest first (no bodies)', { 200: { description: 'A page of attempts.', schema: WebhookAttemptPage } }),
      handle: async (call) => {
        await readableIntegration(call, call.input.params.integrationId, 'integration.logs.read');
        return listWebhookAttempts(call.db, call.input.params.integrationId, call.input.query);
      },
    }),
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId/alerts',
      params,
      query: alertQuery,
      openapi: adminOpenApi('listIntegrationAlerts', 'The integration\u2019s unusual-activity alerts, newest first', { 200: { description: 'The alerts.', schema: IntegrationAlertList } }),
      handle: async (call) => {
        await readableIntegration(call, call.input.params.integrationId, 'integration.logs.read');
        return { alerts: await listIntegrationAlerts(call.db, call.input.params.integrationId, call.input.query.limit) };
      },
    }),
  ];
}
