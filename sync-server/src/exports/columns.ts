import type { Driver, ExportColumnKey, Route, Stop, Vehicle } from '@depotline/shared';
import { type Cell, localIsoTime } from './cells';

/**
 * One row of a stops export before it becomes cells: the route, the stop (null for a route
 * without stops), and the route's driver and vehicle records. Every part is already what the
 * viewer's sync pull would give them (export-rows.ts): a field the viewer may not see is
 * absent, and a driver or vehicle they may not see is null.
 */
export interface ExportRecord {
  route: Route;
  stop: Stop | null;
  driver: Driver | null;
  vehicle: Vehicle | null;
}

type ValueReader = (r: ExportRecord, timeZone: string) => Cell;

const time = (ms: number | null | undefined, tz: string): Cell => (ms === null || ms === undefined ? null : localIsoTime(ms, tz));

/**
 * The value of each column (shared/src/exports.ts lists them). Typed over every column key:
 * a column added to the shared list without a reader here does not compile.
 */
export const columnValue: Readonly<Record<ExportColumnKey, ValueReader>> = {
  route_date: (r) => r.route.date,
  route_id: (r) => r.route.id,
  stop_id: (r) => r.stop?.id ?? null,
  route_name: (r) => r.route.name,
  driver_id: (r) => r.route.driverId,
  driver_name: (r) => r.driver?.name ?? null,
  vehicle_id: (r) => r.route.vehicleId,
  vehicle_label: (r) => r.vehicle?.label ?? null,
  sequence: (r) => r.stop?.sequence ?? null,
  status: (r) => r.stop?.status ?? null,
  window_start: (r, tz) => time(r.stop?.window.start, tz),
  window_end: (r, tz) => time(r.stop?.window.end, tz),
  eta: (r, tz) => time(r.stop?.eta, tz),
  stop_updated_at: (r, tz) => time(r.stop?.updatedAt, tz),
  stop_updated_by: (r) => r.stop?.updatedBy ?? null,
  order_ref: (r) => r.stop?.orderRef ?? null,
  parcel_count: (r) => r.stop?.parcelCount ?? null,
  barcodes: (r) => (r.stop && r.stop.barcodes.length > 0 ? r.stop.barcodes.join(' ') : null),
  minimum_age: (r) => r.stop?.minimumAge ?? null,
  id_check: (r) => (r.stop ? (r.stop.idCheck ? 'yes' : 'no') : null),
  failure_reason: (r) => r.stop?.failureReason ?? null,
  route_updated_at: (r, tz) => time(r.route.updatedAt, tz),
  route_updated_by: (r) => r.route.updatedBy,
  customer_name: (r) => r.stop?.customerName ?? null,
  address: (r) => r.stop?.address ?? null,
  phone: (r) => r.stop?.phone ?? null,
  latitude: (r) => r.stop?.coordinates?.lat ?? null,
  longitude: (r) => r.stop?.coordinates?.lng ?? null,
  email: (r) => r.stop?.email ?? null,
  notes: (r) => r.stop?.notes ?? null,
  failure_note: (r) => r.stop?.failureNote ?? null,
  // Only the fields the viewer may see are named (the pull's redaction already dropped the others).
  withheld: (r) => r.stop?.withheld?.join(',') ?? null,
  payment_ref: (r) => r.stop?.paymentRef ?? null,
  cod_amount_minor: (r) => r.stop?.codAmount ?? null,
  delivery_fee_minor: (r) => r.stop?.deliveryFee ?? null,
  currency: (r) => r.stop?.currency ?? null,
};
