import type { ProofKind, ProofRecord, ProofRedactBody, RedactionRegion } from '@depotline/shared';
import sharp from 'sharp';
import type { AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { conflict } from '../errors';
import { sha256Hex } from './bundle-format';
import { openProof, ProofSealError, sealProof } from './envelope';
import { insertProof, loadProof, newProofId, presentProof, type ProofRow } from './records';
import { proofFileStore, proofStorageKey } from './storage';

/**
 * Redacting a proof file (`pod.annotate`, docs/api.md "Proof of delivery"): a copy of the photo or
 * signature with the chosen regions made unreadable is sealed as a new proof (`derived_from` the
 * original, under its own data key); the original stays sealed and unchanged, for whoever may
 * still need it in a dispute. Each region is pixelated to about six cells across and then blurred:
 * a blur alone of a small face can be partly undone, coarse cells cannot.
 */

/** Cells across the shorter side of a region: coarse enough that a face or a name cannot be made out. */
const cellsAcross = 6;

interface PixelRect { left: number; top: number; width: number; height: number }

export function pixelRect(region: RedactionRegion, width: number, height: number): PixelRect {
  // Rounded outwards: the region asked for is covered whole.
  const left = Math.min(width - 1, Math.floor(region.x * width));
  const top = Math.min(height - 1, Math.floor(region.y * height));
  const right = Math.max(left + 1, Math.min(width, Math.ceil((region.x + region.width) * width)));
  const bottom = Math.max(top + 1, Math.min(height, Math.ceil((region.y + region.height) * height)));
  return { left, top, width: right - left, height: bottom - top };
}

async function obscuredPatch(image: Uint8Array, rect: PixelRect, limitInputPixels: number): Promise<Buffer> {
  const cell = Math.max(1, Math.ceil(Math.min(rect.width, rect.height) / cellsAcross));
  const small = await sharp(image, { limitInputPixels }).extract(rect)
    .resize({ width: Math.max(1, Math.ceil(rect.width / cell)), height: Math.max(1, Math.ceil(rect.height / cell)), fit: 'fill' })
    .png().toBuffer();
  let patch = sharp(small).resize({ width: rect.width, height: rect.height, fit: 'fill', kernel: 'nearest' });
  if (cell > 2) patch = patch.blur(Math.min(1000, cell / 2));
  return patch.png().toBuffer();
}

/** The image with every region obscured, re-encoded as the original was stored (no metadata kept). */
export async function redactImage(image: Uint8Array, contentType: string, regions: readonly RedactionRegion[], limitInputPixels: number): Promise<Uint8Array> {
  const meta = await sharp(image, { limitInputPixels }).metadata();
  if (!meta.width || !meta.height) throw conflict('The stored image has no size; it cannot be redacted.');
  const rects = regions.map((r) => pixelRect(r, meta.width, meta.height));
  const patches = await Promise.all(rects.map(async (rect) => ({ input: await obscuredPatch(image, rect, limitInputPixels), left: rect.left, top: rect.top })));
  const out = sharp(image, { limitInputPixels }).composite(patches);
  return new Uint8Array(contentType === 'image/png' ? await out.png().toBuffer() : await out.jpeg({ quality: 90 }).toBuffer());
}

async function openOriginal(ctx: ServerContext, row: ProofRow): Promise<Uint8Array> {
  if (row.content_type === null || row.storage_key === null) throw conflict('Only a photo or a signature can be redacted.');
  if (row.deleted_at !== null || row.wrapped_key === null) throw conflict('The proof was deleted: there is nothing left to redact.');
  const sealed = await proofFileStore(ctx).get(row.storage_key);
  if (!sealed) throw conflict('The proof\u2019s stored file is missing.');
  try {
    return openProof(ctx, sealed, row.wrapped_key, row.id);
  } catch (err) {
    if (err instanceof ProofSealError) throw conflict('The proof\u2019s stored file does not open.');
    throw err;
  }
}

export interface RedactCall {
  ctx: ServerContext;
  db: Db;
  actor: { userId: string | null; label: string };
  now: number;
  audit: (event: AuditEvent) => void;
}

/** Makes the redacted copy of `original` in the caller's transaction; returns it as the API shows it. */
export async function redactProof({ ctx, db, actor, now, audit }: RedactCall, original: ProofRow, body: ProofRedactBody): Promise<ProofRecord> {
  const image = await openOriginal(ctx, original);
  const redacted = await redactImage(image, original.content_type!, body.regions, ctx.config.proofs.maxPixels);
  const id = newProofId();
  const sealed = sealProof(ctx, redacted, id);
  const storageKey = proofStorageKey(id);
  await proofFileStore(ctx).put(storageKey, sealed.ciphertext);
  const sha256 = sha256Hex(redacted);
  await insertProof(ctx, db, {
    id, stopId: original.stop_id, locationId: original.location_id, kind: original.kind as ProofKind,
    capturedBy: { userId: original.captured_by, label: original.captured_by_label },
    deviceTime: original.device_time === null ? null : Number(original.device_time), serverTime: now,
    // The copy is for showing: the GPS stamp stays with the original.
    gps: null, distanceM: original.distance_m === null ? null : Number(original.distance_m), suspicious: Number(original.suspicious) === 1,
    file: { contentType: original.content_type!, size: redacted.byteLength, sha256, wrappedKey: sealed.wrappedKey, storageKey },
    detail: {}, derivedFrom: original.id,
    annotation: { kind: 'redaction', regions: body.regions, reason: body.reason, by: actor.label, at: now },
  });
  audit({
    action: 'pod.annotate', outcome: 'ok', targetType: 'proof', targetId: original.id, locationId: original.location_id,
    details: { stopId: original.stop_id, copyId: id, regions: body.regions.length, reason: body.reason, sha256 },
  });
  const row = await loadProof(db, id);
  return presentProof(row!, ctx);
}
