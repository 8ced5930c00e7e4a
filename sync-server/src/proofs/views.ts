import { type StopProofs, type ProofSummary } from '@depotline/shared';
import { checkPermission, deniedEvent } from '../access/authorize';
import type { Caller } from '../access/caller';
import type { AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError, forbidden } from '../errors';
import { openProof, ProofSealError } from './envelope';
import { loadProof, presentProof, proofRowsOfStop, proofSummaryOfStop } from './records';
import { holdsForStop, loadProofStop, requireProofStop } from './stop-access';
import { proofFileStore } from './storage';

/**
 * Reading proof: the list of a stop's proofs (`pod.view`, with GPS stamps; or the capturing
 * driver on their own stop, without), the summary anyone who sees the stop may read (finance and
 * reporting: existence, not content), and a proof's file (`pod.view` only, each view audited).
 * A proof with a live redacted copy is an original whose file only `pod.annotate` holders open.
 */

interface ViewCall {
  ctx: ServerContext;
  db: Db;
  caller: Caller;
  now: number;
  audit: (e: AuditEvent) => void;
}

/** `GET /stops/:stopId/proofs`: every proof of the stop as metadata, destroyed ones included. */
export async function stopProofsFor(call: ViewCall, stopId: string): Promise<StopProofs> {
  const { ctx, db, caller, now } = call;
  const stop = await loadProofStop(db, stopId);
  if (!stop) throw forbidden();
  // A viewer sees everything; the driver who captures on this stop may list what was captured, without positions.
  const full = await holdsForStop(db, caller, stop, 'pod.view', now);
  if (!full && !(await holdsForStop(db, caller, stop, 'pod.capture', now))) {
    call.audit(deniedEvent({ permission: 'pod.view', locationId: stop.location_id, action: 'pod.list', targetType: 'stop', targetId: stop.id }));
    throw forbidden();
  }
  const rows = await proofRowsOfStop(db, stop.id);
  if (full) call.audit({ action: 'pod.list', outcome: 'ok', targetType: 'stop', targetId: stop.id, locationId: stop.location_id, details: { proofs: rows.length } });
  return { stopId: stop.id, summary: await proofSummaryOfStop(db, stop.id), proofs: rows.map((r) => presentProof(r, full ? ctx : undefined)) };
}

/** `GET /stops/:stopId/proof-summary`: for anyone who may see the stop (`location.read`, drivers on their own routes). */
export async function stopProofSummaryFor(call: ViewCall, stopId: string): Promise<{ stopId: string; summary: ProofSummary }> {
  const stop = await requireProofStop(call.db, call.caller, stopId, 'location.read', 'pod.summary', call.now, call.audit);
  return { stopId: stop.id, summary: await proofSummaryOfStop(call.db, stop.id) };
}

export interface ProofFile {
  proofId: string;
  contentType: string;
  sha256: string;
  bytes: Uint8Array;
}

const destroyed = () => new AppError('not_found', 404, 'This proof\u2019s file was destroyed: it can never be read again.');

/** `GET /proofs/:proofId/file`: the image, opened from its sealed file; every view is audited (`pod.view`). */
export async function proofFileFor(call: ViewCall, proofId: string): Promise<ProofFile> {
  const { ctx, db, caller, now } = call;
  const row = await loadProof(db, proofId);
  if (!row) throw forbidden();
  if (!checkPermission(caller.profile, { permission: 'pod.view', locationId: row.location_id }, now)) {
    call.audit(deniedEvent({ permission: 'pod.view', locationId: row.location_id, action: 'pod.view', targetType: 'proof', targetId: row.id }));
    throw forbidden();
  }
  // Once a redacted copy exists, the unredacted original is for those who may redact (`pod.annotate`) only.
  if (await hasLiveCopy(db, row.id) && !checkPermission(caller.profile, { permission: 'pod.annotate', locationId: row.location_id }, now)) {
    call.audit(deniedEvent({ permission: 'pod.annotate', locationId: row.location_id, action: 'pod.view', targetType: 'proof', targetId: row.id }));
    throw forbidden('A redacted copy of this proof exists: open the copy. The unredacted original is shown only to those who may redact proof (pod.annotate).');
  }
  const view = (outcome: 'ok' | 'failed', details: Record<string, unknown>) =>
    call.audit({ action: 'pod.view', outcome, targetType: 'proof', targetId: row.id, locationId: row.location_id, details: { stopId: row.stop_id, kind: row.kind, ...details } });
  if (row.storage_key === null || row.content_type === null) throw new AppError('not_found', 404, 'This proof has no file (it is a record only).');
  if (row.wrapped_key === null || row.deleted_at !== null) {
    view('failed', { reason: 'destroyed' });
    throw destroyed();
  }
  const sealed = await proofFileStore(ctx).get(row.storage_key);
  if (sealed === null) {
    view('failed', { reason: 'file_missing' });
    throw new AppError('not_found', 404, 'This proof\u2019s file is missing from the file store.');
  }
  let bytes: Uint8Array;
  try {
    bytes = openProof(ctx, sealed, row.wrapped_key, row.id);
  } catch (err) {
    if (!(err instanceof ProofSealError)) throw err;
    view('failed', { reason: 'does_not_open' });
    ctx.log.error('a proof file does not open (altered, moved, or under another proof key)', { proofId: row.id, reason: err.message });
    throw new AppError('conflict', 409, 'This proof\u2019s file does not open: it was altered or is under another key. The attempt is recorded.');
  }
  view('ok', { sha256: row.sha256 });
  return { proofId: row.id, contentType: row.content_type, sha256: row.sha256 ?? '', bytes };
}

/** Whether a redacted copy of this proof exists that was not destroyed. */
export async function hasLiveCopy(db: Db, proofId: string): Promise<boolean> {
  const copy = await db.selectFrom('proofs').select('id').where('derived_from', '=', proofId).where('deleted_at', 'is', null).limit(1).executeTakeFirst();
  return copy !== undefined;
}
