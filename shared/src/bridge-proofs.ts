import { z } from 'zod';
import { EntityId, Timestamp } from './domain';
import { ApprovalView } from './bridge-governance';
import { ProofDeleteRequest } from './proof-governance';
import { GpsStamp, ProofKind, ProofSummary } from './proofs';

/*
 * The stop detail's proof of delivery (bridge.ts lists the calls). Main asks the server for a
 * stop's proofs when the detail opens (docs/api.md "Proof of delivery") with the session's token;
 * the page never does. A file crosses as the image bytes in a `data:` URL of a stored image type,
 * which the page turns into a `blob:` URL for as long as it shows it: the page's policy allows
 * images from `blob:` and nothing else beyond the app. Neither main nor the page writes a proof
 * file to disk or to the local database, unless IT turned on the offline cache
 * (managed policy `podOfflineCache`). Finance and reporting get the summary only: that a proof
 * exists, never its content.
 */

/** The largest proof file the console shows (the server's limit is at most 50 MB). */
export const MaxProofFileBytes = 50_000_000;
export const MaxProofsShown = 200;

/** One proof as the stop detail shows it: what was recorded, when, where, and whether it is suspicious. */
export const ConsoleProofView = z.object({
  id: EntityId,
  kind: ProofKind,
  capturedBy: z.string().max(256),
  serverTime: Timestamp,
  deviceTime: Timestamp.nullable(),
  gps: GpsStamp.nullable(),
  distanceM: z.number().int().nonnegative().nullable(),
  suspicious: z.boolean(),
  /** A photo or signature that can still be opened (its key not destroyed): `proofFile` shows it. */
  hasFile: z.boolean(),
  /** The file's key was destroyed (deleted after approval): it can never be shown again. */
  destroyed: z.boolean(),
  /** A redacted copy of another proof of this stop. */
  derivedFrom: EntityId.nullable(),
  /** Short operational words: the scanned barcode, the check's result, the refusal (never customer data). */
  detail: z.string().max(300),
  size: z.number().int().nonnegative().nullable(),
  sha256: z.string().max(64).nullable(),
});
export type ConsoleProofView = z.infer<typeof ConsoleProofView>;

export const ConsoleStopProofs = z.discriminatedUnion('access', [
  z.object({
    access: z.literal('full'),
    stopId: EntityId,
    summary: ProofSummary,
    proofs: z.array(ConsoleProofView).max(MaxProofsShown),
    /** `pod.export` at the stop's depot: the dispute bundle button. */
    canExport: z.boolean(),
    /** `pod.delete` at the stop's depot: asking for a deletion (a second person approves). */
    canDelete: z.boolean(),
    /** Files shown here may be kept in the local database for offline viewing (managed policy). */
    offlineCache: z.boolean(),
    /** The server could not be reached: this is the offline copy, as of that time. */
    cachedAt: Timestamp.nullable().optional(),
  }),
  /** Without `pod.view` (finance, reporting): that a proof exists, never its content. */
  z.object({ access: z.literal('summary'), stopId: EntityId, summary: ProofSummary }),
]);
export type ConsoleStopProofs = z.infer<typeof ConsoleStopProofs>;

/** A proof's image: a `data:` URL of a stored image type only (no SVG, no script-capable type). */
export const ConsoleProofFile = z.object({
  proofId: EntityId,
  contentType: z.enum(['image/jpeg', 'image/png']),
  dataUrl: z.string().max(Math.ceil(MaxProofFileBytes / 3) * 4 + 64).regex(/^data:image\/(jpeg|png);base64,[A-Za-z0-9+/]*={0,2}$/),
  sha256: z.string().max(64),
  /** Shown from the local offline cache because the server could not be reached. */
  fromCache: z.boolean(),
});
export type ConsoleProofFile = z.infer<typeof ConsoleProofFile>;

export const ProofBundleResult = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('saved'), path: z.string().max(4096), bytes: z.number().int().nonnegative() }),
  z.object({ outcome: z.literal('cancelled') }),
]);
export type ProofBundleResult = z.infer<typeof ProofBundleResult>;

export const proofBridgeCalls = {
  /** The stop's proofs (`pod.view`), or its summary only; fetched from the server each time. */
  stopProofs: { args: z.object({ stopId: EntityId }).strict(), result: ConsoleStopProofs },
  /** One proof's image, fetched from the server (each view is audited there), shown from memory. */
  proofFile: { args: z.object({ stopId: EntityId, proofId: EntityId }).strict(), result: ConsoleProofFile },
  /** The sealed dispute bundle (`pod.export`), saved where the user picks. */
  exportProofBundle: { args: z.object({ stopId: EntityId }).strict(), result: ProofBundleResult },
  /** Asks for the proof's deletion (`pod.delete`): it waits for a second person's approval. */
  requestProofDeletion: { args: z.object({ proofId: EntityId, reason: ProofDeleteRequest.shape.reason }).strict(), result: ApprovalView },
} as const;
