import crypto from 'node:crypto';
import { type DeliveryCheck, type DeliveryCheckInput, maxPinAttempts, requiredCheck, type StopStatus } from '@depotline/shared';
import type { AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { conflict, invalidTransition } from '../errors';
import { recordChange } from '../sync/change-log';
import type { Touched } from '../sync/mutations/handler';
import type { StopRow } from '../sync/presenters';
import { enqueueWebhookEvents } from '../webhooks/outbox';
import { attemptPin, type PinAttemptOutcome, unlockPin } from './delivery-pin';
import { insertProof, newProofId } from './records';

/**
 * What a driver records at the door besides files: the customer's delivery PIN and the age or
 * ID check of regulated goods (docs/api.md "Delivery PIN and checks"). Each changes what the
 * stop shows (`handover`), so each takes a new stop version in its transaction and the consoles
 * hear of it like any edit; each is audited, a wrong PIN too. The status guard (handover.ts)
 * reads what is written here.
 */

export interface DoorWrite {
  trx: Db;
  now: number;
  /** The caller as stored and audited. */
  by: { userId: string; label: string };
  audit: (event: AuditEvent) => void;
}

const closed: readonly StopStatus[] = ['delivered', 'cancelled'];

function requireOpen(stop: StopRow, what: string): void {
  if (closed.includes(stop.status as StopStatus)) throw invalidTransition(`The stop is already ${stop.status}: no ${what} can be recorded.`);
}

/** A new version of the stop, so pulls and the live feed carry its new `handover`. */
async function touch(trx: Db, stop: StopRow, by: string, now: number): Promise<Touched> {
  const version = await recordChange(trx, stop.location_id, 'stop', stop.id, now);
  await trx.updateTable('stops').set({ version, updated_at: now, updated_by: by }).where('id', '=', stop.id).execute();
  return { entity: 'stop', id: stop.id, locationId: stop.location_id };
}

/** `pod.added` for integrations holding `pod.read` at the depot, queued in the same transaction as a capture's. */
async function proofAdded(ctx: ServerContext, w: DoorWrite, stop: StopRow, proofId: string, kind: 'pin' | 'check'): Promise<void> {
  await enqueueWebhookEvents(w.trx, ctx, [{ type: 'pod.added', locationId: stop.location_id, stopId: stop.id, occurredAt: w.now, data: { proofId, kind, suspicious: false } }]);
}

export interface PinResult {
  outcome: PinAttemptOutcome;
  touched: Touched[];
}

/**
 * A PIN given at the door. A wrong one is counted and audited as a failure, and its count
 * committed even though the caller is answered with an error; the try that reaches the limit
 * locks the stop (the consoles see it locked). A right one is a `pin` proof.
 */
export async function enterPin(ctx: ServerContext, w: DoorWrite, stop: StopRow, pin: string, deviceTime: number | null): Promise<PinResult> {
  requireOpen(stop, 'PIN');
  const outcome = await attemptPin(ctx, w.trx, stop, pin, w.now);
  const target = { targetType: 'stop', targetId: stop.id, locationId: stop.location_id };
  switch (outcome.outcome) {
    case 'verified': {
      const proofId = newProofId();
      await insertProof(ctx, w.trx, {
        id: proofId, stopId: stop.id, locationId: stop.location_id, kind: 'pin', capturedBy: w.by, deviceTime, serverTime: w.now,
        gps: null, distanceM: null, suspicious: false, file: null, detail: { verified: true },
      });
      await proofAdded(ctx, w, stop, proofId, 'pin');
      w.audit({ action: 'pod.pin', outcome: 'ok', ...target, details: { verified: true } });
      return { outcome, touched: [await touch(w.trx, stop, w.by.label, w.now)] };
    }
    case 'incorrect': {
      const locked = outcome.attemptsLeft === 0;
      w.audit({ action: 'pod.pin', outcome: 'failed', ...target, details: { attemptsLeft: outcome.attemptsLeft, locked } });
      return { outcome, touched: locked ? [await touch(w.trx, stop, w.by.label, w.now)] : [] };
    }
    case 'locked':
      w.audit({ action: 'pod.pin', outcome: 'failed', ...target, details: { locked: true } });
      return { outcome, touched: [] };
    case 'already_verified':
    case 'not_required':
      return { outcome, touched: [] };
  }
}

/** A dispatcher gives a locked stop its tries back (the PIN stays the same). */
export async function unlockStopPin(w: DoorWrite, stop: StopRow): Promise<Touched[]> {
  const unlocked = await unlockPin(w.trx, stop.id);
  if (!unlocked) throw conflict('This stop needs no delivery PIN.');
  w.audit({ action: 'pod.pinUnlock', outcome: 'ok', targetType: 'stop', targetId: stop.id, locationId: stop.location_id, details: { failures: unlocked.failures, max: maxPinAttempts } });
  return [await touch(w.trx, stop, w.by.label, w.now)];
}

/**
 * Records an age or ID check (document type and result, for age whether the person is over the
 * threshold; nothing else exists in the input to store). The latest check decides: a pass
 * satisfies the stop, a fail after a pass takes it back. An ID check on a stop that needs an
 * age check is refused: it proves nothing about age.
 */
export async function recordCheck(ctx: ServerContext, w: DoorWrite, stop: StopRow, input: DeliveryCheckInput): Promise<{ check: DeliveryCheck; touched: Touched[] }> {
  requireOpen(stop, 'check');
  const needed = requiredCheck({ minimumAge: stop.minimum_age, idCheck: stop.id_check === 1 });
  if (needed === null) throw conflict('This stop has no age or ID check.');
  if (needed === 'age' && input.kind !== 'age') throw conflict(`This stop needs an age check (${stop.minimum_age}+), not an ID check.`);
  const id = `chk_${crypto.randomUUID()}`;
  const overThreshold = input.kind === 'age' ? input.overThreshold : null;
  await w.trx.insertInto('delivery_checks').values({
    id, stop_id: stop.id, location_id: stop.location_id, kind: input.kind, document_type: input.documentType, result: input.result,
    over_threshold: overThreshold === null ? null : overThreshold ? 1 : 0, recorded_by: w.by.userId, device_time: input.deviceTime ?? null, recorded_at: w.now,
  }).execute();
  // A passing age check keeps the age it was made against: the delivered guard accepts it only at that age or lower.
  const passed = input.result === 'pass';
  await w.trx.updateTable('stops').set({ check_passed: passed ? input.kind : null, check_min_age: passed && input.kind === 'age' ? stop.minimum_age : null })
    .where('id', '=', stop.id).execute();
  const detail = { checkKind: input.kind, documentType: input.documentType, result: input.result, ...(overThreshold === null ? {} : { overThreshold }) };
  const proofId = newProofId();
  await insertProof(ctx, w.trx, {
    id: proofId, stopId: stop.id, locationId: stop.location_id, kind: 'check', capturedBy: w.by, deviceTime: input.deviceTime ?? null,
    serverTime: w.now, gps: null, distanceM: null, suspicious: false, file: null, detail,
  });
  await proofAdded(ctx, w, stop, proofId, 'check');
  w.audit({ action: 'pod.check', outcome: 'ok', targetType: 'stop', targetId: stop.id, locationId: stop.location_id, details: detail });
  const check: DeliveryCheck = {
    id, stopId: stop.id, kind: input.kind, documentType: input.documentType, result: input.result, overThreshold, recordedAt: w.now,
  };
  return { check, touched: [await touch(w.trx, stop, w.by.label, w.now)] };
}
