import {
  ApprovalRequired, IntegrationCreate, IntegrationId, IntegrationListQuery, IntegrationSuspend, IntegrationUpdate, IntegrationView,
  WithApprovalReason,
} from '@depotline/shared';
import { z } from 'zod';
import { AccessRefused, type Granter } from '../../access/authority';
import { deniedEvent } from '../../access/authorize';
import type { Caller } from '../../access/caller';
import { requestApproval } from '../../approvals/requests';
import type { AuditEvent } from '../../audit/audit-log';
import type { Db } from '../../db/database';
import { badRequest, notFound } from '../../errors';
import { findIntegration, listIntegrationRecords, presentIntegration } from '../../integrations/records';
import {
  applyIntegrationCreate, applyIntegrationResume, applyIntegrationSuspend, applyIntegrationUpdate, integrationAfterUpdate, integrationWidening, widens,
  wideningInWords,
} from '../../integrations/registry';
import { integrationManagingLocations, mayViewIntegration } from '../../integrations/scopes';
import { type Endpoint, endpoint } from '../endpoint';
import { adminOpenApi } from '../openapi';
import { approvalRequired, requesterOf } from './approvals';

/*
 * The integrations admin API (docs/api.md, "Integrations"). Who may change an integration is
 * decided inside the `apply*` functions of integrations/registry.ts (`integration.manage` and
 * what the integration gets, at every location it holds a scope at), so no single permission
 * check stands on the changes. An integration is visible to holders of `integration.manage` at
 * one location of its scope at least; to anyone else it does not exist (404). Turning on a
 * contact or billing field of its data profile, or widening where an integration with such a
 * field reads (a location, a reading scope, every order at its locations), is a sensitive change
 * (`integration.profile`): it is requested and answered 202.
 */

const userGranter = (caller: Caller): Granter => ({ kind: 'user', actor: caller.actor, profile: caller.profile });
const integrationParams = z.object({ integrationId: IntegrationId });

/** Turns a refusal found in the transaction into its audit entry (written after the rollback) and a 403. */
async function auditingRefusal<R>(audit: (event: AuditEvent) => void, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AccessRefused) audit(deniedEvent(err.request));
    throw err;
  }
}

/** The integration, if the caller may see it; otherwise it does not exist. */
async function visibleIntegration(call: { db: Db; caller: Caller; now: number }, integrationId: string) {
  const integration = await findIntegration(call.db, { id: integrationId });
  if (!integration || !mayViewIntegration(call.caller.profile, integration, call.now)) throw notFound('The integration');
  return integration;
}

type Answer = { integration: IntegrationView };
const IntegrationAnswer = z.object({ integration: IntegrationView });

export function integrationEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/integrations',
      query: IntegrationListQuery,
      handle: async ({ db, caller, input, now }) => {
        const within = integrationManagingLocations(caller.profile, now);
        const records = await listIntegrationRecords(db, { within, locationId: input.query.locationId, includeSuspended: input.query.includeSuspended !== 'false' });
        return records.map(presentIntegration);
      },
      present: (integrations) => ({ integrations }),
      openapi: adminOpenApi('listIntegrations', 'List the integrations the caller manages', { 200: { description: 'The integrations.', schema: z.object({ integrations: z.array(IntegrationView) }) } }),
    }),
    endpoint({
      method: 'post',
      path: '/integrations',
      body: IntegrationCreate,
      status: 201,
      openapi: adminOpenApi('createIntegration', 'Register an integration', { 201: { description: 'The integration.', schema: IntegrationAnswer } }),
      transaction: true,
      handle: ({ db, caller, input, now, audit }): Promise<Answer> => auditingRefusal(audit, async () =>
        ({ integration: presentIntegration(await applyIntegrationCreate(db, userGranter(caller), input.body, now)) })),
    }),
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId',
      params: integrationParams,
      openapi: adminOpenApi('getIntegration', 'Read an integration', { 200: { description: 'The integration.', schema: IntegrationAnswer } }),
      handle: async (call): Promise<Answer> => ({ integration: presentIntegration(await visibleIntegration(call, call.input.params.integrationId)) }),
    }),
    endpoint({
      method: 'patch',
      path: '/integrations/:integrationId',
      params: integrationParams,
      body: z.intersection(IntegrationUpdate, WithApprovalReason),
      openapi: adminOpenApi('updateIntegration', 'Change an integration (turning on contact or billing fields asks a second admin: 202)', {
        200: { description: 'The integration as changed.', schema: IntegrationAnswer },
        202: { description: 'The change waits for a second admin\u2019s approval.', schema: ApprovalRequired },
      }),
      status: (result: Answer | ApprovalRequired) => ('approvalRequired' in result ? 202 : 200),
      // No endpoint transaction: a request for approval writes in its own.
      handle: async ({ ctx, caller, input, now, audit }): Promise<Answer | ApprovalRequired> => {
        const { integrationId } = input.params;
        const { reason, ...update } = input.body;
        const before = await visibleIntegration({ db: ctx.db, caller, now }, integrationId);
        const widened = integrationWidening(before, integrationAfterUpdate(before, update));
        if (widens(widened)) {
          const asked = ['dataProfile', 'scopes', 'orderVisibility', 'expectedVersion'];
          const others = Object.keys(update).filter((k) => !asked.includes(k));
          if (others.length > 0) {
            throw badRequest([`${wideningInWords(widened)} needs approval; send it on its own, without ${others.join(', ')}`]);
          }
          return approvalRequired(await requestApproval(ctx, requesterOf(caller), {
            kind: 'integration.profile',
            change: {
              integrationId, version: update.expectedVersion ?? before.version, dataProfile: update.dataProfile ?? before.dataProfile,
              ...(update.scopes ? { scopes: update.scopes } : {}), ...(update.orderVisibility ? { orderVisibility: update.orderVisibility } : {}),
            },
            reason,
          }));
        }
        return ctx.db.transaction().execute((trx) => auditingRefusal(audit, async () =>
          ({ integration: presentIntegration((await applyIntegrationUpdate(trx, userGranter(caller), integrationId, update, now)).after) })));
      },
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/suspend',
      params: integrationParams,
      body: IntegrationSuspend,
      openapi: adminOpenApi('suspendIntegration', 'Suspend an integration: every credential of it is refused', { 200: { description: 'The integration.', schema: IntegrationAnswer } }),
      transaction: true,
      handle: async (call): Promise<Answer> => {
        await visibleIntegration(call, call.input.params.integrationId);
        return auditingRefusal(call.audit, async () => ({
          integration: presentIntegration(await applyIntegrationSuspend(call.db, userGranter(call.caller), call.input.params.integrationId, call.input.body.reason, call.now)),
        }));
      },
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/resume',
      params: integrationParams,
      openapi: adminOpenApi('resumeIntegration', 'Resume a suspended integration', { 200: { description: 'The integration.', schema: IntegrationAnswer } }),
      transaction: true,
      handle: async (call): Promise<Answer> => {
        await visibleIntegration(call, call.input.params.integrationId);
        return auditingRefusal(call.audit, async () => ({
          integration: presentIntegration(await applyIntegrationResume(call.db, userGranter(call.caller), call.input.params.integrationId, call.now)),
        }));
      },
    }),
  ];
}
