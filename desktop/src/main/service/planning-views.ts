import {
  mutationTarget, redactStopForViewer,
  type Driver, type FleetView, type Permission, type PlanRouteView, type PlanStopView, type Route, type Stop, type StopOrderView, type Vehicle,
} from '@depotline/shared';
import type { PendingMutation } from '../../core';

/**
 * Pure translations for the planning screens, like console-views.ts: every stop passes through
 * `redactStopForViewer` with the user's permissions at its depot before it leaves main.
 */

export function toFleetView(drivers: readonly Driver[], vehicles: readonly Vehicle[]): FleetView {
  return {
    drivers: drivers
      .map((d) => ({ id: d.id, name: d.name, retired: d.retiredAt != null, hasLogin: d.userId !== null }))
      .sort((a, b) => Number(a.retired) - Number(b.retired) || a.name.localeCompare(b.name)),
    vehicles: vehicles
      .map((v) => ({ id: v.id, label: v.label, plate: v.plate, retired: v.retiredAt != null }))
      .sort((a, b) => Number(a.retired) - Number(b.retired) || a.label.localeCompare(b.label)),
  };
}

export function toPlanRoute(route: Route, context: {
  drivers: readonly Driver[];
  vehicles: readonly Vehicle[];
  stopCount: number;
  pendingEdits: number;
}): PlanRouteView {
  return {
    id: route.id,
    name: route.name,
    date: route.date,
    driverId: route.driverId,
    driverName: context.drivers.find((d) => d.id === route.driverId)?.name ?? null,
    vehicleId: route.vehicleId,
    vehicleLabel: context.vehicles.find((v) => v.id === route.vehicleId)?.label ?? null,
    stopCount: context.stopCount,
    pendingEdits: context.pendingEdits,
  };
}

export function toPlanStop(stop: Stop, permissions: ReadonlySet<Permission>, pending: boolean): PlanStopView {
  const visible = redactStopForViewer(stop, permissions);
  return {
    id: visible.id,
    routeId: visible.routeId,
    sequence: visible.sequence,
    ...(visible.customerName !== undefined ? { customerName: visible.customerName } : {}),
    ...(visible.address !== undefined ? { address: visible.address } : {}),
    ...(visible.orderRef ? { orderRef: visible.orderRef } : {}),
    window: visible.window,
    status: visible.status,
    pending,
  };
}

/**
 * A route's stops in the order the user last chose: by sequence, or, while a reorder of the
 * route waits for the server (offline), in that reorder's order. The stops' sequences change
 * only with the server's changes; this shows the reorder at once. Stops it does not name (moved
 * in since) follow, by sequence.
 */
export function inShownOrder<S extends Pick<Stop, 'id' | 'sequence'>>(stops: readonly S[], pending: readonly PendingMutation[], routeId: string): S[] {
  const bySequence = [...stops].sort((a, b) => a.sequence - b.sequence);
  const reorder = pending.map((p) => p.mutation).filter((m) => m.type === 'route.reorder' && m.routeId === routeId).at(-1);
  if (!reorder || reorder.type !== 'route.reorder') return bySequence;
  const place = new Map(reorder.stopIds.map((id, i) => [id, i]));
  const rank = (s: S) => place.get(s.id) ?? reorder.stopIds.length + s.sequence;
  return bySequence.sort((a, b) => rank(a) - rank(b));
}

/** Route ids with local edits the server has not answered yet. */
export function routesWithPendingEdits(pending: readonly PendingMutation[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of pending) {
    const target = mutationTarget(p.mutation);
    if (target.kind === 'route') counts.set(target.id, (counts.get(target.id) ?? 0) + 1);
  }
  return counts;
}

/** The stop editor's view of a stop: what the viewer may see, the phone masked until revealed. */
export function toStopOrder(stop: Stop, permissions: ReadonlySet<Permission>, context: { routeName: string | null; pendingEdits: number }): StopOrderView {
  const v = redactStopForViewer(stop, permissions);
  const billing = permissions.has('stop.readBilling');
  const notesVisible = permissions.has('stop.readNotes');
  return {
    stop: {
      id: v.id, locationId: v.locationId, routeId: v.routeId, sequence: v.sequence, status: v.status,
      ...(v.customerName !== undefined ? { customerName: v.customerName } : {}),
      ...(v.address !== undefined ? { address: v.address } : {}),
      ...(v.coordinates !== undefined ? { coordinates: v.coordinates } : {}),
      ...(notesVisible ? { notes: v.notes ?? '' } : {}),
      window: v.window,
      orderRef: v.orderRef, parcelCount: v.parcelCount, barcodes: v.barcodes, minimumAge: v.minimumAge, idCheck: v.idCheck,
      pinRequired: v.pinRequired ?? false,
      ...(billing ? { paymentRef: v.paymentRef ?? null, codAmount: v.codAmount ?? null, deliveryFee: v.deliveryFee ?? null, currency: v.currency ?? null } : {}),
      failureReason: v.failureReason,
      ...(v.failureNote !== undefined ? { failureNote: v.failureNote } : {}),
      ...(v.withheld ? { withheld: v.withheld } : {}),
      updatedAt: v.updatedAt,
      updatedBy: v.updatedBy,
    },
    routeName: context.routeName,
    // The number and the email stay in main until the user reveals them (an audited read).
    ...(v.phone !== undefined ? { phone: v.phone ? 'masked' as const : 'none' as const } : {}),
    ...(v.email !== undefined ? { email: v.email ? 'masked' as const : 'none' as const } : {}),
    canEdit: permissions.has('stop.edit'),
    canEditNotes: notesVisible && permissions.has('stop.editNotes'),
    canEditBilling: billing && permissions.has('stop.edit'),
    pendingEdits: context.pendingEdits,
  };
}
