import { type ErrorCode, type FailureReason, missingForDelivery, requiredCheck, type StopHandover } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { Database } from '../db/schema';
import { pinLocked } from './delivery-pin';

type StopRow = Selectable<Database['stops']>;

type HandoverColumns = 'pin_failures' | 'pin_verified_at' | 'check_passed' | 'check_min_age' | 'minimum_age' | 'id_check';

/**
 * What was done at the door, from the stop's row (every stop presenter shows it; the status
 * guard judges `delivered` by it). A passing age check counts only if it was made against the
 * stop's current minimum age or a higher one (a check over 16 says nothing about 18); it also
 * covers an ID check (a document was seen). An ID check does not cover an age check.
 */
export function handoverOf(row: Pick<StopRow, HandoverColumns>): StopHandover {
  const needed = requiredCheck({ minimumAge: row.minimum_age, idCheck: row.id_check === 1 });
  const agePassed = row.check_passed === 'age'
    && (row.minimum_age === null || (row.check_min_age !== null && row.check_min_age >= row.minimum_age));
  const passed = agePassed || (row.check_passed !== null && needed === 'id');
  return { pinVerified: row.pin_verified_at !== null, pinLocked: pinLocked(row), checkPassed: passed };
}

type Requirements = { pinRequired?: boolean | undefined; minimumAge?: number | null | undefined; idCheck?: boolean | undefined };
const atTheDoor: readonly string[] = ['en_route', 'arrived'];

/**
 * Why an order change is refused, or null: once the stop is en route or at the door, its PIN,
 * age and ID requirements can be raised but not lowered (no PIN, a lower or no minimum age, no
 * ID check), so no edit takes the delivered guard away from a handover under way. A dispatcher
 * who must lower one recalls the stop to `planned` first (audited) or cancels it.
 */
export function requirementLoweringRefusal(row: Pick<StopRow, 'status' | 'pin_required' | 'minimum_age' | 'id_check'>, change: Requirements): string | null {
  if (!atTheDoor.includes(row.status)) return null;
  const lowered: string[] = [];
  if (change.pinRequired === false && row.pin_required === 1) lowered.push('the delivery PIN');
  if (change.minimumAge !== undefined && row.minimum_age !== null && (change.minimumAge === null || change.minimumAge < row.minimum_age)) {
    lowered.push(`the age check (${row.minimum_age}+)`);
  }
  if (change.idCheck === false && row.id_check === 1) lowered.push('the ID check');
  if (lowered.length === 0) return null;
  return `The stop is already ${row.status.replace('_', ' ')}: ${lowered.join(', ')} can no longer be removed or lowered. Recall the stop to planned first.`;
}

/**
 * The check columns after an order change: changing the minimum age or the ID check clears a
 * passing check, so the driver checks again against what the order now says.
 */
export function checkColumnsFor(row: Pick<StopRow, 'minimum_age' | 'id_check'>, change: Requirements): Partial<Pick<StopRow, 'check_passed' | 'check_min_age'>> {
  const ageChanged = change.minimumAge !== undefined && change.minimumAge !== row.minimum_age;
  const idChanged = change.idCheck !== undefined && (change.idCheck ? 1 : 0) !== row.id_check;
  return ageChanged || idChanged ? { check_passed: null, check_min_age: null } : {};
}

/**
 * Why a status change is refused on account of the door, or null: `delivered` needs the PIN
 * verified (PIN stops) and a passing check recorded (age or ID stops), and only a stop with a
 * check can fail as `handover_refused_check`. Judged on the stop row inside the change's
 * transaction, so no status change gets past it, from any console or device.
 */
export function handoverRefusal(
  row: Pick<StopRow, 'pin_required' | HandoverColumns>,
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
