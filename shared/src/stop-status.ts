import type { StopStatus } from './domain';

/**
 * The stop status state machine. The server applies a status change only when the
 * transition from the stop's *current server status* is listed here; the desktop uses the
 * same table to offer only allowed transitions.
 *
 *   planned  -> en_route | cancelled
 *   en_route -> arrived | failed | planned   (recalled to the depot)
 *   arrived  -> delivered | failed
 *   failed   -> planned                      (rescheduled for another attempt)
 *   delivered, cancelled: final
 */
export const stopTransitions: Readonly<Record<StopStatus, readonly StopStatus[]>> = {
  planned: ['en_route', 'cancelled'],
  en_route: ['arrived', 'failed', 'planned'],
  arrived: ['delivered', 'failed'],
  failed: ['planned'],
  delivered: [],
  cancelled: [],
};

export function canTransitionStop(from: StopStatus, to: StopStatus): boolean {
  return stopTransitions[from].includes(to);
}

export function isFinalStopStatus(status: StopStatus): boolean {
  return stopTransitions[status].length === 0;
}

/** How a refused transition is worded, on the server and the desktop alike; null when allowed. */
export function stopTransitionRefusal(from: StopStatus, to: StopStatus): string | null {
  if (canTransitionStop(from, to)) return null;
  return `A ${from.replace('_', ' ')} stop cannot become ${to.replace('_', ' ')}.`;
}
