import { z } from 'zod';
import { EntityId } from './domain';
import { TrackingLinkCreated, TrackingLinkInfo } from './tracking';

/*
 * The stop detail's customer tracking links (bridge.ts lists the calls): main asks the server
 * (docs/api.md "Customer tracking links") with the session's token. A new link's address is in
 * the create answer only; neither main nor the page keeps it.
 */

export const StopTrackingLinks = z.object({
  /** False: the user does not hold `tracking.manage` at the stop's depot; nothing else is said. */
  canManage: z.boolean(),
  links: z.array(TrackingLinkInfo).max(100),
});
export type StopTrackingLinks = z.infer<typeof StopTrackingLinks>;

export const trackingBridgeCalls = {
  stopTrackingLinks: { args: z.object({ stopId: EntityId }).strict(), result: StopTrackingLinks },
  createTrackingLink: { args: z.object({ stopId: EntityId }).strict(), result: TrackingLinkCreated },
  revokeTrackingLink: { args: z.object({ linkId: z.uuid() }).strict(), result: TrackingLinkInfo },
} as const;
