import { type ErrorCode, type FailureReason, missingForDelivery, requiredCheck, type StopHandover } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { Database } from '../db/schema';
import { pinLocked } from './delivery-pin';

type StopRow = Selectable<Database['stops']>;

/**
 * What was done at the door, from the stop's row (every stop presenter shows it; the status
 * guard judges `delivered` by it). A passing age check also covers an ID check (a document was
 * seen); an ID check does not cover an age check.
 */
export function handoverOf(row: Pick<StopRow, 'pin_failures' | 'pin_verified_at' | 'check_passed' | 'minimum_age' | 'id_check'>): StopHandover {
  const needed = requiredCheck({ minimumAge: row.minimum_age, idCheck: row.id_check === 1 });
  const passed = row.check_passed === 'age' || (row.check_passed === 'id' && needed === 'id');
  return { pinVerified: row.pin_verified_at !== null, pinLocked: pinLocked(row), checkPassed: passed };
}

/**
 * Why a status change is refused on account of the door, or null: `delivered` needs the PIN
 * verified (PIN stops) and a passing check recorded (age or ID stops), and only a stop with a
 * check can fail as `handover_refused_check`. Judged on the stop row inside the change's
 * transaction, so no status change gets past it, from any console or device.
 */
export function handoverRefusal(
  row: Pick<StopRow, 'pin_required' | 'pin_failures' | 'pin_verified_at' | 'check_passed' | 'minimum_age' | 'id_check'>,
  to: string,
  failureReason: FailureReason | undefined,
): { code: ErrorCode; reason: string } | null {
  if (to === 'delivered') {
    const missing = missingForDelivery({ pinRequired: row.pin_required === 1, minimumAge: row.minimum_age, idCheck: row.id_check === 1, handover: handoverOf(row) });
    if (missing.length > 0) return { code: 'invalid_transition', reason: `Not delivered yet: ${missing.join(' ')}` };
  }
  if (to === 'failed' && failureReason === 'handover_refused_check' && requiredCheck({ minimumAge: row.minimum_age, idCheck: row.id_check === 1 }) === null) {
    return { code: 'bad_request', reason: 'Only a stop with an age or ID check can fail because the check was refused.' };
  }
  return null;
}
