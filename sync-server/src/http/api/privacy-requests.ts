import {
  EntityId, PrivacyCloseBody, PrivacyEraseBody, privacyExportProofCountHeader, privacyExportStopCountHeader, PrivacyRectifyBody,
  PrivacyRequestCreate, PrivacyRequestListQuery,
} from '@depotline/shared';
import type { Response } from 'express';
import { z } from 'zod';
import type { Caller } from '../../access/caller';
import type { AuditEvent } from '../../audit/audit-log';
import type { ServerContext } from '../../context';
import type { Db } from '../../db/database';
import { type AccessExport, buildAccessExport } from '../../privacy/access-export';
import { type EraseOrApproval, eraseOrAskApproval } from '../../privacy/erasure-approval';
import { rectifyPrivacyRequest } from '../../privacy/request-rectification';
import {
  closePrivacyRequest, createPrivacyRequest, getPrivacyRequest, listPrivacyRequests, managesFor, type PrivacyCall,
} from '../../privacy/requests';
import type { LiveFeed } from '../../sync/mutations/handler';
import { type Endpoint, endpoint } from '../endpoint';
import { approvalRequired, requesterOf } from './approvals';

/**
 * The register of data subject requests (docs/api.md "Privacy requests"). `privacy.manage` is
 * checked per request inside (a request covers one or more locations, and one the caller does not
 * manage at every location of is answered `not_found`, like one that does not exist). POST bodies
 * carry the customer's identifiers; no URL ever does.
 */

const RequestParams = z.object({ requestId: EntityId });

const callOf = (c: { ctx: ServerContext; db: Db; caller: Caller; now: number; audit: (e: AuditEvent) => void }): PrivacyCall => ({
  ctx: c.ctx, db: c.db, actor: c.caller.actor, now: c.now, audit: c.audit, manages: managesFor(c.caller, c.now),
});

function sendZip(res: Response, file: AccessExport): void {
  res.status(200)
    .set('Content-Type', 'application/zip')
    .set('Content-Disposition', `attachment; filename="${file.fileName}"`)
    .set('Cache-Control', 'no-store')
    .set(privacyExportStopCountHeader, String(file.stopCount))
    .set(privacyExportProofCountHeader, String(file.proofCount))
    .send(Buffer.from(file.zip.buffer, file.zip.byteOffset, file.zip.byteLength));
}

export function privacyRequestEndpoints(live: LiveFeed): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/privacy/requests',
      query: PrivacyRequestListQuery,
      handle: async (c) => ({ requests: await listPrivacyRequests(callOf(c), c.input.query) }),
    }),
    endpoint({
      method: 'post',
      path: '/privacy/requests',
      body: PrivacyRequestCreate,
      status: 201,
      transaction: true,
      handle: (c) => createPrivacyRequest(callOf(c), c.input.body),
    }),
    endpoint({
      method: 'get',
      path: '/privacy/requests/:requestId',
      params: RequestParams,
      handle: (c) => getPrivacyRequest(callOf(c), c.input.params.requestId),
    }),
    endpoint({
      method: 'post',
      path: '/privacy/requests/:requestId/access-export',
      params: RequestParams,
      // The customer's data is read and the export recorded and audited in one transaction.
      transaction: true,
      handle: (c) => buildAccessExport(callOf(c), c.input.params.requestId),
      respond: sendZip,
    }),
    endpoint({
      method: 'post',
      path: '/privacy/requests/:requestId/erase',
      params: RequestParams,
      body: PrivacyEraseBody,
      // Its own transactions. One that deletes stops or destroys proofs answers 202 with the `privacy.erase` approval request.
      status: (r: EraseOrApproval) => (r.kind === 'approval' ? 202 : 200),
      handle: async (c) => {
        const done = await eraseOrAskApproval(callOf(c), requesterOf(c.caller), c.input.params.requestId, c.input.body);
        if (done.kind === 'erased') live.publish(done.touched).catch((err: unknown) => c.ctx.log.error('live feed failed after an erasure', { err: String(err) }));
        return done;
      },
      present: (r: EraseOrApproval) => (r.kind === 'approval' ? approvalRequired(r.approval) : r.result),
    }),
    endpoint({
      method: 'post',
      path: '/privacy/requests/:requestId/rectify',
      params: RequestParams,
      body: PrivacyRectifyBody,
      handle: async (c) => {
        const { result, touched } = await rectifyPrivacyRequest(callOf(c), c.input.params.requestId, c.input.body);
        live.publish(touched).catch((err: unknown) => c.ctx.log.error('live feed failed after a rectification', { err: String(err) }));
        return result;
      },
    }),
    endpoint({
      method: 'post',
      path: '/privacy/requests/:requestId/close',
      params: RequestParams,
      body: PrivacyCloseBody,
      transaction: true,
      handle: (c) => closePrivacyRequest(callOf(c), c.input.params.requestId, c.input.body.reason),
    }),
  ];
}
