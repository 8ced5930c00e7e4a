import { z } from 'zod';
import { EntityId } from './domain';

/**
 * Governance of proof of delivery (docs/api.md "Proof of delivery"): redacting a photo, deleting a
 * proof (always with a second person's approval) and the sealed dispute bundle.
 */

/**
 * `pod.delete`: the proof's data key is destroyed, so its file can never be read again, anywhere.
 * The redacted copies made from it go too, unless `keepCopies`: then the original goes and the
 * blurred copies stay (the way to keep a photo without a bystander's face).
 */
export const ProofDeleteChange = z.object({ proofId: EntityId, keepCopies: z.boolean().optional() }).strict();
export type ProofDeleteChange = z.infer<typeof ProofDeleteChange>;

/** `POST /proofs/:proofId/delete`: ask for the deletion; the answer is the approval request (202). */
export const ProofDeleteRequest = z.object({
  reason: z.string().trim().min(3, 'say why, in a few words').max(1000),
  keepCopies: z.boolean().optional(),
}).strict();
export type ProofDeleteRequest = z.infer<typeof ProofDeleteRequest>;

/**
 * A rectangle to blur, as fractions of the image's width and height (0 top/left, 1 bottom/right),
 * so a client need not know the stored image's pixel size.
 */
export const RedactionRegion = z.object({
  x: z.number().min(0).max(1),
  y: z.number().min(0).max(1),
  width: z.number().gt(0).max(1),
  height: z.number().gt(0).max(1),
}).strict().refine((r) => r.x + r.width <= 1.000001 && r.y + r.height <= 1.000001, 'a region lies inside the image');
export type RedactionRegion = z.infer<typeof RedactionRegion>;

/**
 * `POST /proofs/:proofId/redactions` (`pod.annotate`): a copy of a photo or signature with the
 * regions blurred, sealed as a new proof `derivedFrom` the original; the original stays sealed
 * and unchanged. `reason` is kept in the audit log: say what was hidden, not who it showed.
 */
export const ProofRedactBody = z.object({
  regions: z.array(RedactionRegion).min(1).max(20),
  reason: z.string().trim().min(3, 'say why, in a few words').max(300),
}).strict();
export type ProofRedactBody = z.infer<typeof ProofRedactBody>;

/** The file name of a stop's dispute bundle download. */
export const proofBundleFileName = (stopId: string): string => `proof-bundle-${stopId}.zip`;
