import { z } from 'zod';
import { EntityId, Timestamp } from './domain';

/**
 * Proof of delivery: what a driver's device records at the door, through the capture API
 * (docs/api.md "Proof of delivery"). Files (photos, signatures) are sealed on the server, each
 * under its own data key; everything else is a small record. Finance and reporting see only the
 * summary (`ProofSummary`): that a proof exists, never its content.
 */
export const proofKinds = ['photo', 'signature', 'pin', 'barcode', 'gps', 'check', 'refusal'] as const;
export const ProofKind = z.enum(proofKinds);
export type ProofKind = z.infer<typeof ProofKind>;

/** The kinds that carry a file (an image body). */
export const proofFileKinds = ['photo', 'signature'] as const satisfies readonly ProofKind[];
export type ProofFileKind = (typeof proofFileKinds)[number];

/** The image types the capture API accepts, as sniffed from the bytes (never the Content-Type header alone). */
export const proofImageTypes = ['image/jpeg', 'image/png', 'image/webp'] as const;
export type ProofImageType = (typeof proofImageTypes)[number];

/** What the server stores a photo as after re-encoding (metadata stripped), and a signature as. */
export const proofStoredType: Readonly<Record<ProofFileKind, 'image/jpeg' | 'image/png'>> = { photo: 'image/jpeg', signature: 'image/png' };

/** The device's clock when the proof was captured: kept next to the server's, never trusted over it. */
export const DeviceTime = Timestamp;

/** Where the device was: WGS 84 degrees and the device's own accuracy estimate in metres. */
export const GpsStamp = z.strictObject({
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  accuracyM: z.number().min(0).max(100_000),
});
export type GpsStamp = z.infer<typeof GpsStamp>;

/** The query of a file upload (`POST /stops/:stopId/proof/photo|signature`, raw image body). */
export const ProofFileQuery = z.strictObject({
  deviceTime: z.coerce.number().pipe(DeviceTime).optional(),
  lat: z.coerce.number().min(-90).max(90).optional(),
  lng: z.coerce.number().min(-180).max(180).optional(),
  accuracyM: z.coerce.number().min(0).max(100_000).optional(),
}).refine((q) => (q.lat === undefined) === (q.lng === undefined) && (q.lat !== undefined || q.accuracyM === undefined), {
  message: 'lat, lng and accuracyM go together (accuracyM only with lat and lng)',
});
export type ProofFileQuery = z.infer<typeof ProofFileQuery>;

/** `POST /stops/:stopId/proof/scan`: one parcel barcode as scanned, matched against the order's. */
export const ProofScanBody = z.strictObject({
  barcode: z.string().trim().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'a barcode is printable ASCII without spaces'),
  deviceTime: DeviceTime.optional(),
  gps: GpsStamp.optional(),
});
export type ProofScanBody = z.infer<typeof ProofScanBody>;

/** `POST /stops/:stopId/proof/gps`: a GPS stamp alone (where the device was at the handover). */
export const ProofGpsBody = z.strictObject({
  deviceTime: DeviceTime.optional(),
  gps: GpsStamp,
});
export type ProofGpsBody = z.infer<typeof ProofGpsBody>;

/**
 * One proof as `GET /stops/:stopId/proofs` lists it (`pod.view`, or the capturing driver on
 * their own stop). `gps` is shown to `pod.view` holders only; `distanceM` is from the stop's
 * coordinates (null without a GPS stamp or coordinates).
 */
export const ProofRecord = z.object({
  id: EntityId,
  stopId: EntityId,
  locationId: EntityId,
  kind: ProofKind,
  capturedBy: z.string(),
  deviceTime: Timestamp.nullable(),
  serverTime: Timestamp,
  gps: GpsStamp.nullable().optional(),
  distanceM: z.number().int().nonnegative().nullable(),
  suspicious: z.boolean(),
  /** Set for file proofs: what is stored (after re-encoding), its size and SHA-256 (hex) of the stored image. */
  file: z.object({ contentType: z.string(), size: z.number().int().nonnegative(), sha256: z.string() }).nullable(),
  /** False once the proof's key was destroyed: the file can never be read again. */
  readable: z.boolean(),
  /** Kind-specific operational detail (a scan's barcode, a check's result); never customer data. */
  detail: z.record(z.string(), z.unknown()),
  /** Set for a redacted copy (an annotation): the proof it was made from. */
  derivedFrom: EntityId.nullable(),
  deletedAt: Timestamp.nullable(),
});
export type ProofRecord = z.infer<typeof ProofRecord>;

/** What anyone who may see the stop may know about its proof (finance, reporting): existence, not content. */
export const ProofSummary = z.object({
  present: z.boolean(),
  kinds: z.array(ProofKind),
  pinVerified: z.boolean(),
  checkRecorded: z.boolean(),
  suspicious: z.boolean(),
});
export type ProofSummary = z.infer<typeof ProofSummary>;

export const emptyProofSummary: ProofSummary = { present: false, kinds: [], pinVerified: false, checkRecorded: false, suspicious: false };

/** The answer of a capture: the proof as recorded (the driver sees whether it was marked suspicious). */
export const ProofCaptured = z.object({ proof: ProofRecord });
export type ProofCaptured = z.infer<typeof ProofCaptured>;

/** `GET /stops/:stopId/proofs`. */
export const StopProofs = z.object({ stopId: EntityId, summary: ProofSummary, proofs: z.array(ProofRecord) });
export type StopProofs = z.infer<typeof StopProofs>;

/**
 * Console bridge shapes: the console fetches a stop's proofs on demand through the main process
 * and shows a file from memory (a data URL), never from the desktop database unless the policy
 * allows an offline cache.
 */
export const BridgeProofFile = z.object({ proofId: EntityId, contentType: z.string(), dataUrl: z.string() });
export type BridgeProofFile = z.infer<typeof BridgeProofFile>;
export const BridgeStopProofs = z.union([
  z.object({ access: z.literal('full'), stopId: EntityId, summary: ProofSummary, proofs: z.array(ProofRecord) }),
  z.object({ access: z.literal('summary'), stopId: EntityId, summary: ProofSummary }),
]);
export type BridgeStopProofs = z.infer<typeof BridgeStopProofs>;

/** The headers a proof file download carries, for clients that check what they got. */
export const proofSha256Header = 'X-Proof-SHA256';
