import { EntityId, type Permission, proofBundleFileName, ProofDeleteRequest, ProofRedactBody } from '@depotline/shared';
import type { Response } from 'express';
import { z } from 'zod';
import { type AuthorizationRequest, checkPermission, deniedEvent } from '../../access/authorize';
import type { Caller } from '../../access/caller';
import type { AuditEvent } from '../../audit/audit-log';
import { requestApproval } from '../../approvals/requests';
import type { Db } from '../../db/database';
import { forbidden } from '../../errors';
import { type BuiltBundle, buildProofBundle } from '../../proofs/bundle';
import { loadProof, type ProofRow } from '../../proofs/records';
import { redactProof } from '../../proofs/redaction';
import { type Endpoint, endpoint } from '../endpoint';
import { approvalRequired, requesterOf } from './approvals';

const StopParams = z.object({ stopId: EntityId });
const ProofParams = z.object({ proofId: EntityId });

type Audit = (event: AuditEvent) => void;

/**
 * The one permission check of these endpoints. A refusal is recorded through the endpoint's
 * audit, which writes it even when the endpoint's transaction rolls back (a separate write while
 * that transaction is open would wait on it with SQLite's single connection).
 */
function requirePermission(caller: Caller, req: AuthorizationRequest, now: number, audit: Audit): void {
  if (checkPermission(caller.profile, req, now)) return;
  audit(deniedEvent(req));
  throw forbidden();
}

/**
 * A proof, for a caller who holds `permission` at its location. An unknown proof and a known one
 * at a depot where the caller lacks the permission get the same `forbidden` (the second audited),
 * as the proof views answer: the answer does not tell which ids exist.
 */
async function proofFor(db: Db, caller: Caller, proofId: string, permission: Permission, now: number, audit: Audit): Promise<ProofRow> {
  const proof = await loadProof(db, proofId);
  if (!proof) throw forbidden();
  requirePermission(caller, { permission, locationId: proof.location_id, action: permission, targetType: 'proof', targetId: proof.id }, now, audit);
  return proof;
}

function sendBundle(res: Response, built: BuiltBundle): void {
  res.status(200)
    .set('Content-Type', 'application/zip')
    .set('Content-Disposition', `attachment; filename="${proofBundleFileName(built.stopId)}"`)
    .set('Cache-Control', 'no-store')
    .send(Buffer.from(built.zip.buffer, built.zip.byteOffset, built.zip.byteLength));
}

/**
 * Governance of proof of delivery (docs/api.md, "Proof of delivery"): the sealed dispute bundle
 * (`pod.export`), redacted copies (`pod.annotate`) and deletion (`pod.delete`, always through a
 * second person's approval). Capture and viewing are in proofs.ts. Every export, redaction and
 * deletion is audited, refusals included.
 */
export function proofGovernanceEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/stops/:stopId/proof-bundle',
      params: StopParams,
      handle: async ({ ctx, caller, input: { params }, now, audit }) => {
        const stop = await ctx.db.selectFrom('stops').select(['id', 'location_id']).where('id', '=', params.stopId).executeTakeFirst();
        if (!stop) throw forbidden();
        requirePermission(caller, { permission: 'pod.export', locationId: stop.location_id, action: 'pod.export', targetType: 'stop', targetId: stop.id }, now, audit);
        const originals = checkPermission(caller.profile, { permission: 'pod.annotate', locationId: stop.location_id }, now) !== null;
        const built = await buildProofBundle(ctx, ctx.db, { id: stop.id, locationId: stop.location_id }, now, { originals });
        audit({
          action: 'pod.export', outcome: 'ok', targetType: 'stop', targetId: stop.id, locationId: stop.location_id,
          details: { proofs: built.proofCount, files: built.fileCount, bytes: built.zip.byteLength, sha256: built.sha256, originals },
        });
        return built;
      },
      respond: sendBundle,
    }),
    endpoint({
      method: 'post',
      path: '/proofs/:proofId/redactions',
      params: ProofParams,
      body: ProofRedactBody,
      // The copy's row and its audit entry are written together.
      transaction: true,
      status: 201,
      handle: async ({ ctx, db, caller, input: { params, body }, now, audit }) => {
        const original = await proofFor(db, caller, params.proofId, 'pod.annotate', now, audit);
        return redactProof({ ctx, db, actor: caller.actor, now, audit }, original, body);
      },
      present: (proof) => ({ proof }),
    }),
    /** Deleting always needs a second person: the answer is the approval request (202). */
    endpoint({
      method: 'post',
      path: '/proofs/:proofId/delete',
      params: ProofParams,
      body: ProofDeleteRequest,
      status: 202,
      handle: async ({ ctx, caller, input: { params, body }, now, audit }) => {
        await proofFor(ctx.db, caller, params.proofId, 'pod.delete', now, audit);
        return requestApproval(ctx, requesterOf(caller), { kind: 'pod.delete', change: { proofId: params.proofId, ...(body.keepCopies ? { keepCopies: true } : {}) }, reason: body.reason });
      },
      present: approvalRequired,
    }),
  ];
}
