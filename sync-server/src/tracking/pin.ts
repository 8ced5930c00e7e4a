import type { ServerContext } from '../context';

/**
 * The delivery PIN the tracking page shows when the order requires one. The PIN belongs to the
 * delivery checks (it is stored there, for checking as a keyed hash and for this page alone
 * field-encrypted); until that store answers, the page shows no PIN.
 */
export function trackingPinOf(_ctx: ServerContext, _stopId: string): Promise<string | null> {
  return Promise.resolve(null);
}
