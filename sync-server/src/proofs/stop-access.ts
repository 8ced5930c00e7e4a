import type { Permission } from '@depotline/shared';
import { type AuthorizationRequest, checkPermission, deniedEvent } from '../access/authorize';
import type { Caller } from '../access/caller';
import type { AuditEvent } from '../audit/audit-log';
import type { Db } from '../db/database';
import { forbidden } from '../errors';
import { driverAccessOpen } from '../sync/route-completion';

/**
 * Who may do what with a stop's proof. One check for every proof endpoint: the stop (with its
 * route's driver) is read, the caller's permission judged at the stop's location, counting
 * driver-only permissions when the stop is on a route assigned to the caller as a driver. An
 * unknown stop and a refused one get the same answer (`forbidden`), so ids cannot be probed; a
 * refusal of a known stop is audited.
 */

export interface ProofStop {
  id: string;
  location_id: string;
  status: string;
  barcodes: string;
  coordinates_enc: string | null;
  driver_id: string | null;
  /** The route's end of its driver's access (sync/route-completion.ts); null while it is not complete. */
  driver_access_until: number | null;
}

export async function loadProofStop(db: Db, stopId: string): Promise<ProofStop | undefined> {
  return db.selectFrom('stops').innerJoin('routes', 'routes.id', 'stops.route_id')
    .select(['stops.id', 'stops.location_id', 'stops.status', 'stops.barcodes', 'stops.coordinates_enc', 'routes.driver_id', 'routes.driver_access_until'])
    .where('stops.id', '=', stopId).executeTakeFirst();
}

/** Whether the stop's route is driven by one of the caller's driver records. */
export async function stopIsOnCallersRoute(db: Db, caller: Caller, stop: Pick<ProofStop, 'location_id' | 'driver_id'>): Promise<boolean> {
  if (stop.driver_id === null) return false;
  const own = await db.selectFrom('drivers').select('id')
    .where('id', '=', stop.driver_id).where('location_id', '=', stop.location_id).where('user_id', '=', caller.principal.userId)
    .executeTakeFirst();
  return own !== undefined;
}

/** The decision alone: whether the caller holds `permission` for this stop. */
export async function holdsForStop(db: Db, caller: Caller, stop: ProofStop, permission: Permission, now: number): Promise<boolean> {
  const general = checkPermission(caller.profile, { permission, locationId: stop.location_id }, now);
  if (general) return true;
  // A completed route is the driver's only until its grace period is over.
  const assignedToCaller = driverAccessOpen(stop, now) && await stopIsOnCallersRoute(db, caller, stop);
  return assignedToCaller && checkPermission(caller.profile, { permission, locationId: stop.location_id, assignedToCaller }, now) !== null;
}

/**
 * The stop, when the caller holds `permission` for it; otherwise `forbidden`, the refusal
 * recorded through `audit` (written even though the request fails).
 */
export async function requireProofStop(
  db: Db, caller: Caller, stopId: string, permission: Permission, action: string, now: number, audit: (e: AuditEvent) => void,
): Promise<ProofStop> {
  const stop = await loadProofStop(db, stopId);
  if (!stop) throw forbidden();
  if (await holdsForStop(db, caller, stop, permission, now)) return stop;
  const req: AuthorizationRequest = { permission, locationId: stop.location_id, action, targetType: 'stop', targetId: stop.id };
  audit(deniedEvent(req));
  throw forbidden();
}
