import type { ServerContext } from '../context';
import { revealPinForTracking } from '../proofs/delivery-pin';

/**
 * The delivery PIN the tracking page shows when the order requires one: kept by the delivery
 * checks (proofs/delivery-pin.ts) as a keyed hash for checking and, for this page alone,
 * field-encrypted. Null when the stop needs none or is finished.
 */
export function trackingPinOf(ctx: ServerContext, stopId: string): Promise<string | null> {
  return revealPinForTracking(ctx, stopId);
}
