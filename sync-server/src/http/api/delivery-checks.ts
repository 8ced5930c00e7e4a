import { DeliveryCheckInput, EntityId, maxPinAttempts, type Permission, PinAttempt } from '@depotline/shared';
import { z } from 'zod';
import { authorize } from '../../access/authorize';
import type { Caller } from '../../access/caller';
import { appendAuditEntries, type AuditEvent } from '../../audit/audit-log';
import type { ServerContext } from '../../context';
import type { Db } from '../../db/database';
import { AppError, conflict, forbidden, notFound } from '../../errors';
import { type DoorWrite, enterPin, recordCheck, unlockStopPin } from '../../proofs/delivery-checks';
import { driverIdsOfUser } from '../../sync/driver-queries';
import type { LiveFeed, Touched } from '../../sync/mutations/handler';
import type { StopRow } from '../../sync/presenters';
import { driverAccessOpen } from '../../sync/route-completion';
import { type Endpoint, endpoint, type EndpointCall } from '../endpoint';

const StopParams = z.object({ stopId: EntityId });

/**
 * A stop for a caller who holds `permission` at its location: `pod.capture` counts for a driver
 * only on a stop of a route assigned to them, and a completed route is theirs only until its
 * grace period is over (as at the proof endpoints). Unknown and not the caller's get the same answer,
 * `forbidden` (so stop ids cannot be probed, as at the capture endpoints); a refusal of a known
 * stop is audited.
 */
async function stopFor(ctx: ServerContext, db: Db, caller: Caller, stopId: string, permission: Permission, action: string, now: number): Promise<StopRow> {
  const stop = await db.selectFrom('stops').selectAll().where('id', '=', stopId).executeTakeFirst();
  if (!stop) throw forbidden();
  let assignedToCaller = false;
  if (permission === 'pod.capture') {
    const route = await db.selectFrom('routes').select(['driver_id', 'driver_access_until']).where('id', '=', stop.route_id).executeTakeFirst();
    const own = await driverIdsOfUser(db, caller.principal.userId, stop.location_id);
    assignedToCaller = route?.driver_id != null && driverAccessOpen(route, now) && own.has(route.driver_id);
  }
  await authorize(ctx, caller.actor, caller.profile, { permission, locationId: stop.location_id, action, targetType: 'stop', targetId: stop.id, assignedToCaller });
  return stop;
}

/**
 * Runs `work` in one transaction on the stop as it is then, its audit entries written in the same
 * transaction, and tells the consoles after the commit. The caller is authorized first, outside
 * it (a refusal is audited on its own).
 */
async function atDoor<R extends { touched: Touched[] }>(
  call: EndpointCall<unknown, unknown, unknown>, live: LiveFeed, stopId: string, permission: Permission, action: string,
  work: (w: DoorWrite, stop: StopRow) => Promise<R>,
): Promise<R> {
  const { ctx, caller, now } = call;
  await stopFor(ctx, ctx.db, caller, stopId, permission, action, now);
  const result = await ctx.db.transaction().execute(async (trx) => {
    const stop = await trx.selectFrom('stops').selectAll().where('id', '=', stopId).executeTakeFirst();
    if (!stop) throw notFound('The stop');
    const events: AuditEvent[] = [];
    const w: DoorWrite = { trx, now, audit: (e) => void events.push(e), by: { userId: caller.principal.userId, label: caller.principal.username } };
    const r = await work(w, stop);
    await appendAuditEntries(trx, events.map((event) => ({ actor: caller.actor, event })), now);
    return r;
  });
  if (result.touched.length > 0) {
    live.publish(result.touched).catch((err: unknown) => ctx.log.error('live feed failed after a door record', { err: String(err) }));
  }
  return result;
}

const pinIncorrect = (left: number) => new AppError('pin_incorrect', 422, left > 0
  ? `That PIN is not correct. ${left} ${left === 1 ? 'try' : 'tries'} left.`
  : `That PIN is not correct. After ${maxPinAttempts} wrong tries the stop is locked: ask the dispatcher to unlock it.`);
const pinLocked = () => new AppError('pin_locked', 423, `Too many wrong PINs: the stop is locked. Ask the dispatcher to unlock it.`);

/**
 * The delivery PIN and regulated-goods checks at the door (docs/api.md "Delivery PIN and
 * checks"): the driver's own session with `pod.capture` on their assigned stop; unlocking a
 * locked PIN with `stop.edit` (a dispatcher). Audit entries are written with the change (a
 * wrong PIN's too: its count is committed before the caller is answered with the error).
 */
export function deliveryCheckEndpoints(live: LiveFeed): Endpoint[] {
  return [
    endpoint({
      method: 'post',
      path: '/stops/:stopId/proof/pin',
      params: StopParams,
      body: PinAttempt,
      handle: async (call) => {
        const { params, body } = call.input;
        const result = await atDoor(call, live, params.stopId, 'pod.capture', 'pod.pin', (w, stop) => enterPin(call.ctx, w, stop, body.pin, body.deviceTime ?? null));
        const o = result.outcome;
        if (o.outcome === 'incorrect') throw pinIncorrect(o.attemptsLeft);
        if (o.outcome === 'locked') throw pinLocked();
        if (o.outcome === 'not_required') throw conflict('This stop needs no delivery PIN.');
        return { verified: true };
      },
    }),
    endpoint({
      method: 'post',
      path: '/stops/:stopId/proof/check',
      params: StopParams,
      body: DeliveryCheckInput,
      status: 201,
      handle: (call) => atDoor(call, live, call.input.params.stopId, 'pod.capture', 'pod.check', (w, stop) => recordCheck(call.ctx, w, stop, call.input.body)),
      present: (r) => ({ check: r.check }),
    }),
    endpoint({
      method: 'post',
      path: '/stops/:stopId/pin/unlock',
      params: StopParams,
      status: 204,
      handle: async (call) => {
        await atDoor(call, live, call.input.params.stopId, 'stop.edit', 'pod.pinUnlock', async (w, stop) => ({ touched: await unlockStopPin(w, stop) }));
      },
    }),
  ];
}
