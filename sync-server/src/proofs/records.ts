import crypto from 'node:crypto';
import { emptyProofSummary, type GpsStamp, type ProofKind, ProofKind as ProofKindSchema, type ProofRecord, type ProofSummary } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { ServerContext } from '../context';
import { fieldAad } from '../crypto/field-cipher';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';

/**
 * The proofs table as records (db/migrations/0016-proof-of-delivery.ts): written by the capture
 * API (proofs/capture.ts) and the delivery checks, read by the view endpoints, the stop
 * presenter's summary and the dispute bundle.
 */

export type ProofRow = Selectable<Database['proofs']>;

export const newProofId = () => `pod_${crypto.randomUUID()}`;

/** A proof about to be written; `file` set for photos and signatures (already sealed and stored). */
export interface NewProof {
  id: string;
  stopId: string;
  locationId: string;
  kind: ProofKind;
  capturedBy: { userId: string | null; label: string };
  deviceTime: number | null;
  serverTime: number;
  gps: GpsStamp | null;
  distanceM: number | null;
  suspicious: boolean;
  file: { contentType: string; size: number; sha256: string; wrappedKey: string; storageKey: string } | null;
  /** Kind-specific operational values (a scan's barcode; `{ verified: true }` for a PIN; a check's result). Never customer data. */
  detail: Record<string, unknown>;
  derivedFrom?: string | null;
  annotation?: Record<string, unknown> | null;
}

const gpsAad = (proofId: string) => fieldAad('proofs', 'gps', proofId);

/** Writes one proof row in the caller's transaction. */
export async function insertProof(ctx: ServerContext, trx: Db, p: NewProof): Promise<void> {
  await trx.insertInto('proofs').values({
    id: p.id, stop_id: p.stopId, location_id: p.locationId, kind: p.kind,
    captured_by: p.capturedBy.userId, captured_by_label: p.capturedBy.label,
    device_time: p.deviceTime, server_time: p.serverTime,
    gps_enc: p.gps ? ctx.cipher.encrypt(`${p.gps.lat},${p.gps.lng}`, gpsAad(p.id)) : null,
    gps_accuracy_m: p.gps ? Math.ceil(p.gps.accuracyM) : null,
    distance_m: p.distanceM, suspicious: p.suspicious ? 1 : 0,
    content_type: p.file?.contentType ?? null, size_bytes: p.file?.size ?? null, sha256: p.file?.sha256 ?? null,
    wrapped_key: p.file?.wrappedKey ?? null, storage_key: p.file?.storageKey ?? null,
    detail: JSON.stringify(p.detail), derived_from: p.derivedFrom ?? null,
    annotation: p.annotation ? JSON.stringify(p.annotation) : null,
    created_at: p.serverTime, deleted_at: null, deleted_by: null,
  }).execute();
}

/** The GPS stamp of a proof row, or null (none, or it does not decrypt: then withheld, never guessed). */
export function proofGps(ctx: ServerContext, row: Pick<ProofRow, 'id' | 'gps_enc' | 'gps_accuracy_m'>): GpsStamp | null {
  if (row.gps_enc === null) return null;
  const opened = ctx.cipher.tryDecrypt(row.gps_enc, gpsAad(row.id));
  if (!opened.ok) return null;
  const [lat, lng] = opened.value.split(',').map(Number);
  if (lat === undefined || lng === undefined || !Number.isFinite(lat) || !Number.isFinite(lng)) return null;
  return { lat, lng, accuracyM: Number(row.gps_accuracy_m ?? 0) };
}

function parseDetail(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * A row as the API shows it. `reveal` (a `pod.view` holder's read) adds the GPS stamp; without it
 * the field is absent.
 */
export function presentProof(row: ProofRow, reveal?: ServerContext): ProofRecord {
  const record: ProofRecord = {
    id: row.id, stopId: row.stop_id, locationId: row.location_id, kind: row.kind as ProofKind,
    capturedBy: row.captured_by_label,
    deviceTime: row.device_time === null ? null : Number(row.device_time), serverTime: Number(row.server_time),
    distanceM: row.distance_m === null ? null : Number(row.distance_m), suspicious: Number(row.suspicious) === 1,
    file: row.content_type !== null && row.sha256 !== null
      ? { contentType: row.content_type, size: Number(row.size_bytes ?? 0), sha256: row.sha256 } : null,
    readable: row.storage_key !== null && row.wrapped_key !== null && row.deleted_at === null,
    detail: parseDetail(row.detail),
    derivedFrom: row.derived_from,
    deletedAt: row.deleted_at === null ? null : Number(row.deleted_at),
  };
  if (reveal) record.gps = proofGps(reveal, row);
  return record;
}

export async function loadProof(db: Db, proofId: string): Promise<ProofRow | undefined> {
  return db.selectFrom('proofs').selectAll().where('id', '=', proofId).executeTakeFirst();
}

export async function proofRowsOfStop(db: Db, stopId: string): Promise<ProofRow[]> {
  return db.selectFrom('proofs').selectAll().where('stop_id', '=', stopId).orderBy('server_time').orderBy('id').execute();
}

/** Every proof of a stop, oldest first, destroyed ones included (as records). `reveal`: see `presentProof`. */
export async function listProofsOfStop(db: Db, stopId: string, reveal?: ServerContext): Promise<ProofRecord[]> {
  return (await proofRowsOfStop(db, stopId)).map((r) => presentProof(r, reveal));
}

type SummaryRow = Pick<ProofRow, 'stop_id' | 'kind' | 'suspicious' | 'detail'>;

function summarize(rows: readonly SummaryRow[]): ProofSummary {
  if (rows.length === 0) return { ...emptyProofSummary, kinds: [] };
  const kinds = new Set<ProofKind>();
  let pinVerified = false;
  let checkRecorded = false;
  let suspicious = false;
  for (const r of rows) {
    const kind = ProofKindSchema.safeParse(r.kind);
    if (kind.success) kinds.add(kind.data);
    const detail = parseDetail(r.detail);
    if (r.kind === 'pin' && detail['verified'] === true) pinVerified = true;
    if (r.kind === 'check' && detail['result'] === 'pass') checkRecorded = true;
    if (Number(r.suspicious) === 1) suspicious = true;
  }
  return { present: true, kinds: ProofKindSchema.options.filter((k) => kinds.has(k)), pinVerified, checkRecorded, suspicious };
}

/**
 * What may be known of a stop's proof by anyone who sees the stop (finance, reporting included):
 * that proof exists and of which kinds, whether a PIN was verified (a `pin` proof with
 * `detail.verified === true`) and a passing check recorded (a `check` proof with
 * `detail.result === 'pass'`), and whether any proof is suspicious. Destroyed proofs do not count.
 */
export async function proofSummaryOfStop(db: Db, stopId: string): Promise<ProofSummary> {
  return (await proofSummariesOfStops(db, [stopId])).get(stopId) ?? { ...emptyProofSummary, kinds: [] };
}

/** The summaries of many stops at once (a presenter's batch); stops without proof are absent from the map. */
export async function proofSummariesOfStops(db: Db, stopIds: readonly string[]): Promise<Map<string, ProofSummary>> {
  const out = new Map<string, ProofSummary>();
  const ids = [...new Set(stopIds)];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('proofs').select(['stop_id', 'kind', 'suspicious', 'detail'])
      .where('stop_id', 'in', ids.slice(i, i + 500)).where('deleted_at', 'is', null).execute();
    const byStop = new Map<string, SummaryRow[]>();
    for (const r of rows) byStop.set(r.stop_id, [...(byStop.get(r.stop_id) ?? []), r]);
    for (const [stopId, list] of byStop) out.set(stopId, summarize(list));
  }
  return out;
}
