import type { GpsStamp, ProofFileKind, ProofKind, ProofRecord } from '@depotline/shared';
import type { Caller } from '../access/caller';
import { appendAuditEntries, type AuditActor, type AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError, conflict } from '../errors';
import { recordChange } from '../sync/change-log';
import type { Touched } from '../sync/mutations/handler';
import { enqueueWebhookEvents } from '../webhooks/outbox';
import { type DistanceJudgement, implausibleDistanceM, judgeDistance } from './distance';
import { sealProof } from './envelope';
import { prepareProofImage } from './images';
import { insertProof, loadProof, newProofId, type NewProof, presentProof } from './records';
import { type ProofStop, requireProofStop } from './stop-access';
import { proofFileStore, proofStorageKey } from './storage';
import { raiseSuspiciousProofAlert } from './suspicious';

/**
 * Capturing proof of delivery (docs/api.md "Proof of delivery"): the driver's own session, on a
 * stop of a route assigned to them (`pod.capture`; a driver cannot attach proof to another
 * driver's stop). Every capture is judged in full before anything is written: the image sniffed
 * and re-encoded, the barcode matched, the GPS stamp's distance to the stop measured. Then, in
 * one transaction: the proof row, its audit entry, the stop's change-log entry (so the stop's
 * proof summary reaches the consoles), the `pod.added` webhook and, for a suspicious proof, the
 * security alert. A file is sealed and stored before that transaction; if the transaction fails
 * the sealed file is deleted again (and would be unreadable anyway: its key was never stored).
 */

export interface CaptureCall {
  ctx: ServerContext;
  caller: Caller;
  now: number;
  /** Records an audit entry that must survive a refusal (written even though the request fails). */
  audit: (e: AuditEvent) => void;
}

export interface CaptureResult {
  proof: ProofRecord;
  touched: Touched[];
}

interface Capture {
  kind: ProofKind;
  deviceTime: number | null;
  gps: GpsStamp | null;
  detail: Record<string, unknown>;
  file: { bytes: Uint8Array; contentType: string; sha256: string } | null;
}

const closedStatuses = new Set(['delivered', 'failed', 'cancelled']);

async function stopForCapture(call: CaptureCall, stopId: string, kind: ProofKind): Promise<ProofStop> {
  const stop = await requireProofStop(call.ctx.db, call.caller, stopId, 'pod.capture', 'pod.capture', call.now, call.audit);
  // Proof belongs to the handover: once the stop is closed, nothing can be added to it afterwards.
  if (closedStatuses.has(stop.status)) {
    refuse(call, stop, kind, 'stop_closed', conflict(`The stop is ${stop.status}: proof can only be captured before it is closed. Nothing was stored.`));
  }
  return stop;
}

/** Refuses a capture after the stop was found and allowed: audited as a failed `pod.capture`, nothing stored. */
function refuse(call: CaptureCall, stop: ProofStop, kind: ProofKind, reason: string, error: AppError): never {
  call.audit({ action: 'pod.capture', outcome: 'failed', targetType: 'stop', targetId: stop.id, locationId: stop.location_id, details: { kind, reason } });
  throw error;
}

/** A GPS stamp too far to be a handover at this stop: refused, audited and alerted in its own transaction. */
async function refuseImplausible(call: CaptureCall, stop: ProofStop, kind: ProofKind, judged: DistanceJudgement): Promise<never> {
  await call.ctx.db.transaction().execute((trx) => raiseSuspiciousProofAlert(trx, call.caller.actor, {
    stopId: stop.id, locationId: stop.location_id, proofId: null, kind, distanceM: judged.distanceM ?? 0, thresholdM: call.ctx.config.proofs.maxDistanceM, refused: true,
  }, call.now));
  return refuse(call, stop, kind, 'gps_implausible', new AppError('bad_request', 400,
    `The GPS stamp is ${Math.round((judged.distanceM ?? 0) / 1000)} km from the stop (more than ${implausibleDistanceM / 1000} km): it cannot be a handover there. Nothing was stored; the depot's managers were alerted (once an hour per stop at most).`,
    { issues: ['gps: too far from the stop'] }));
}

async function record(call: CaptureCall, stop: ProofStop, c: Capture): Promise<CaptureResult> {
  const { ctx, now } = call;
  const judged = judgeDistance(ctx, stop, c.gps);
  if (judged.implausible) await refuseImplausible(call, stop, c.kind, judged);
  const id = newProofId();
  const actor: AuditActor = call.caller.actor;
  let file: NewProof['file'] = null;
  const store = proofFileStore(ctx);
  if (c.file) {
    const sealed = sealProof(ctx, c.file.bytes, id);
    const storageKey = proofStorageKey(id);
    await store.put(storageKey, sealed.ciphertext);
    file = { contentType: c.file.contentType, size: c.file.bytes.byteLength, sha256: c.file.sha256, wrappedKey: sealed.wrappedKey, storageKey };
  }
  const proof: NewProof = {
    id, stopId: stop.id, locationId: stop.location_id, kind: c.kind,
    capturedBy: { userId: call.caller.principal.userId, label: actor.label },
    deviceTime: c.deviceTime, serverTime: now, gps: c.gps, distanceM: judged.distanceM, suspicious: judged.suspicious,
    file, detail: c.detail,
  };
  try {
    const row = await ctx.db.transaction().execute(async (trx) => {
      await insertProof(ctx, trx, proof);
      const version = await recordChange(trx, stop.location_id, 'stop', stop.id, now);
      await trx.updateTable('stops').set({ version }).where('id', '=', stop.id).execute();
      await appendAuditEntries(trx, [{ actor, event: captureEvent(proof) }], now);
      await enqueueWebhookEvents(trx, ctx, [{
        type: 'pod.added', locationId: stop.location_id, stopId: stop.id, occurredAt: now, data: { proofId: id, kind: c.kind, suspicious: judged.suspicious },
      }]);
      if (judged.suspicious && judged.distanceM !== null) {
        await raiseSuspiciousProofAlert(trx, actor, {
          stopId: stop.id, locationId: stop.location_id, proofId: id, kind: c.kind, distanceM: judged.distanceM, thresholdM: ctx.config.proofs.maxDistanceM, refused: false,
        }, now);
      }
      return loadProof(trx, id);
    });
    return { proof: presentProof(row!, ctx), touched: [{ entity: 'stop', id: stop.id, locationId: stop.location_id }] };
  } catch (err) {
    if (file) await store.delete(file.storageKey).catch(() => undefined);
    throw err;
  }
}

/** The audit entry of a capture: ids, kind, hashes and the distance judgement; never a position or an image. */
function captureEvent(p: NewProof): AuditEvent {
  return {
    action: 'pod.capture', outcome: 'ok', targetType: 'stop', targetId: p.stopId, locationId: p.locationId,
    details: {
      proofId: p.id, kind: p.kind, deviceTime: p.deviceTime, gps: p.gps !== null, distanceM: p.distanceM, suspicious: p.suspicious,
      ...(p.file ? { sha256: p.file.sha256, size: p.file.size, contentType: p.file.contentType } : {}),
      ...(p.kind === 'barcode' ? { barcode: p.detail['barcode'] } : {}),
    },
  };
}

/** A photo or signature: raw image bytes, sniffed, bounded and re-encoded before anything is stored. */
export async function capturePhotoOrSignature(
  call: CaptureCall, stopId: string, kind: ProofFileKind, upload: Uint8Array, meta: { deviceTime: number | null; gps: GpsStamp | null },
): Promise<CaptureResult> {
  const stop = await stopForCapture(call, stopId, kind);
  let image;
  try {
    image = await prepareProofImage(kind, upload, call.ctx.config.proofs.maxPixels);
  } catch (err) {
    if (err instanceof AppError) refuse(call, stop, kind, err.code, err);
    throw err;
  }
  return record(call, stop, {
    kind, deviceTime: meta.deviceTime, gps: meta.gps,
    detail: { width: image.width, height: image.height, uploadedAs: image.sniffed },
    file: { bytes: image.bytes, contentType: image.contentType, sha256: image.sha256 },
  });
}

function barcodesOf(json: string): string[] {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.filter((b): b is string => typeof b === 'string') : [];
  } catch {
    return [];
  }
}

/** Whether another stop at the location expects this barcode (a parcel loaded for another order). */
async function barcodeOfAnotherStop(db: Db, stop: ProofStop, barcode: string): Promise<boolean> {
  // LIKE narrows the candidates (its wildcards only ever widen them); the JSON decides.
  const candidates = await db.selectFrom('stops').select('barcodes')
    .where('location_id', '=', stop.location_id).where('id', '!=', stop.id).where('barcodes', 'like', `%${barcode}%`)
    .limit(50).execute();
  return candidates.some((c) => barcodesOf(c.barcodes).includes(barcode));
}

/** A parcel barcode scanned at the door, matched against the stop's expected parcels. */
export async function captureScan(call: CaptureCall, stopId: string, scan: { barcode: string; deviceTime: number | null; gps: GpsStamp | null }): Promise<CaptureResult> {
  const stop = await stopForCapture(call, stopId, 'barcode');
  const expected = barcodesOf(stop.barcodes);
  if (!expected.includes(scan.barcode)) {
    const elsewhere = await barcodeOfAnotherStop(call.ctx.db, stop, scan.barcode);
    const message = elsewhere
      ? `Barcode ${scan.barcode} belongs to another order, not to this stop: do not hand this parcel over here. Nothing was stored.`
      : expected.length === 0
        ? `This stop expects no parcel barcodes; ${scan.barcode} is not one of its parcels. Nothing was stored.`
        : `Barcode ${scan.barcode} is not one of this stop's ${expected.length} parcels. Nothing was stored.`;
    refuse(call, stop, 'barcode', elsewhere ? 'barcode_of_another_order' : 'barcode_unknown', new AppError('barcode_mismatch', 422, message));
  }
  const already = await call.ctx.db.selectFrom('proofs').select('detail')
    .where('stop_id', '=', stop.id).where('kind', '=', 'barcode').where('deleted_at', 'is', null).execute();
  const scanned = new Set(already.flatMap((r) => {
    const d = JSON.parse(r.detail) as { barcode?: unknown };
    return typeof d.barcode === 'string' ? [d.barcode] : [];
  }));
  scanned.add(scan.barcode);
  return record(call, stop, {
    kind: 'barcode', deviceTime: scan.deviceTime, gps: scan.gps, file: null,
    detail: { barcode: scan.barcode, matched: true, scanned: expected.filter((b) => scanned.has(b)).length, expected: expected.length },
  });
}

/** A GPS stamp alone: where the device was at the handover, with its accuracy. */
export async function captureGps(call: CaptureCall, stopId: string, stamp: { gps: GpsStamp; deviceTime: number | null }): Promise<CaptureResult> {
  const stop = await stopForCapture(call, stopId, 'gps');
  return record(call, stop, { kind: 'gps', deviceTime: stamp.deviceTime, gps: stamp.gps, file: null, detail: {} });
}
