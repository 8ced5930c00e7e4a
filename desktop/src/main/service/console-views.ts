import {
  mutationTarget, PermissionName, redactStopForViewer, stopTransitions,
  type Change, type Driver, type DriverPosition, type LocationView, type Permission, type PositionView, type RejectedNotice,
  type Route, type RouteRowView, type Stop, type StopDetailView, type StopRowView, type StopStatus,
} from '@depotline/shared';
import { type BoardRow, clip, optimisticHandlerFor, type PendingMutation, type RejectedMutation, statusText, type StoredLocation } from '../../core';

/**
 * Pure translations from what the core stores to what the bridge shows. Every stop passes
 * through `redactStopForViewer` with the user's permissions at its location before it leaves
 * main, so the renderer gets only what the shared permission catalogue reveals even if the
 * local store held more (defence in depth: the server already redacts).
 */

const knownPermissions = new Set<string>(PermissionName.options);

export function permissionsOf(location: StoredLocation): Set<Permission> {
  return new Set(location.permissions.filter((p): p is Permission => knownPermissions.has(p)));
}

export function toLocationView(location: StoredLocation): LocationView {
  return {
    id: location.id,
    name: location.name,
    timezone: location.timezone,
    permissions: [...permissionsOf(location)],
    roles: location.roles,
    expiresAt: location.expiresAt,
  };
}

export function toRouteRow(row: BoardRow): RouteRowView {
  const s = row.stops.byStatus;
  return {
    id: row.route.id,
    name: row.route.name,
    date: row.route.date,
    driverName: row.driverName,
    vehicleLabel: row.vehicleLabel,
    stopCount: row.stops.total,
    doneCount: s.delivered + s.failed + s.cancelled,
    byStatus: { ...s },
    pendingEdits: row.pendingEdits,
    updatedAt: row.route.updatedAt,
  };
}

export function toStopRow(stop: Stop, permissions: ReadonlySet<Permission>, pending: boolean): StopRowView {
  const visible = redactStopForViewer(stop, permissions);
  return {
    id: visible.id,
    routeId: visible.routeId,
    sequence: visible.sequence,
    ...(visible.customerName !== undefined ? { customerName: visible.customerName } : {}),
    ...(visible.address !== undefined ? { address: visible.address } : {}),
    window: visible.window,
    status: visible.status,
    eta: visible.eta,
    orderRef: visible.orderRef,
    ...(visible.coordinates !== undefined ? { coordinates: visible.coordinates } : {}),
    failureReason: visible.failureReason,
    pending,
    ...(visible.pseudonymised === true ? { pseudonymised: true as const } : {}),
  };
}

/** Status changes to offer: what the state machine allows from here, if the user may change status at all. */
export function offeredTransitions(status: StopStatus, permissions: ReadonlySet<Permission>): StopStatus[] {
  return permissions.has('stop.setStatus') ? [...stopTransitions[status]] : [];
}

export function toStopDetail(input: {
  stop: Stop;
  permissions: ReadonlySet<Permission>;
  route: Route | null;
  driverName: string | null;
  pendingEdits: number;
}): StopDetailView {
  const { permissions } = input;
  const visible = redactStopForViewer(input.stop, permissions);
  const notesVisible = permissions.has('stop.readNotes');
  // Erased for good, not redacted: every viewer is told, so no one takes it for a permission gap.
  const pseudonymised = visible.pseudonymised === true;
  return {
    stop: {
      id: visible.id,
      locationId: visible.locationId,
      routeId: visible.routeId,
      sequence: visible.sequence,
      ...(visible.customerName !== undefined ? { customerName: visible.customerName } : {}),
      ...(visible.address !== undefined ? { address: visible.address } : {}),
      ...(notesVisible ? { notes: visible.notes ?? '' } : {}),
      ...(visible.withheld ? { withheld: visible.withheld } : {}),
      window: visible.window,
      status: visible.status,
      eta: visible.eta,
      updatedAt: visible.updatedAt,
      updatedBy: visible.updatedBy,
      orderRef: visible.orderRef,
      parcelCount: visible.parcelCount,
      barcodes: visible.barcodes,
      ...(visible.coordinates !== undefined ? { coordinates: visible.coordinates } : {}),
      minimumAge: visible.minimumAge,
      idCheck: visible.idCheck,
      ...(visible.pinRequired !== undefined ? { pinRequired: visible.pinRequired } : {}),
      ...(visible.handover ? { handover: visible.handover } : {}),
      failureReason: visible.failureReason,
      ...(notesVisible ? { failureNote: visible.failureNote ?? null } : {}),
    },
    // Billing only with stop.readBilling: redaction removed every billing field otherwise.
    ...(permissions.has('stop.readBilling') ? {
      billing: {
        paymentRef: visible.paymentRef ?? null, codAmount: visible.codAmount ?? null,
        deliveryFee: visible.deliveryFee ?? null, currency: visible.currency ?? null,
      },
    } : {}),
    // Like the phone number, an email address is revealed on request (an audited read).
    ...(visible.email !== undefined ? { email: visible.email ? 'masked' as const : 'none' as const } : {}),
    routeName: input.route?.name ?? null,
    driverName: input.driverName,
    allowedTransitions: offeredTransitions(visible.status, permissions),
    // The number itself stays in main until the user reveals it (an audited read).
    ...(visible.phone !== undefined ? { phone: visible.phone ? 'masked' as const : 'none' as const } : {}),
    notesVisible,
    // The server refuses notes on an erased stop (they could name the customer again).
    canEditNotes: notesVisible && permissions.has('stop.editNotes') && !pseudonymised,
    pendingEdits: input.pendingEdits,
    pseudonymised,
    held: visible.held === true,
  };
}

export function toPositionView(position: DriverPosition, drivers: ReadonlyMap<string, Driver>): PositionView {
  return {
    driverId: position.driverId,
    driverName: drivers.get(position.driverId)?.name ?? null,
    lat: position.lat,
    lng: position.lng,
    headingDeg: position.headingDeg,
    speedKmh: position.speedKmh,
    recordedAt: position.recordedAt,
  };
}

/** Stop ids with local edits the server has not answered yet. */
export function stopsWithPendingEdits(pending: readonly PendingMutation[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of pending) {
    const target = mutationTarget(p.mutation);
    if (target.kind === 'stop') counts.set(target.id, (counts.get(target.id) ?? 0) + 1);
  }
  return counts;
}

export interface StopFilter {
  search?: string | undefined;
  statuses?: readonly StopStatus[] | undefined;
}

/**
 * Case-insensitive search over what the viewer may see of a stop (customer, address), its
 * sequence number, and its route's name, driver and vehicle: a route that matches brings
 * all of its stops.
 */
export function stopMatches(stop: StopRowView, routeText: string, filter: StopFilter): boolean {
  if (filter.statuses && filter.statuses.length > 0 && !filter.statuses.includes(stop.status)) return false;
  const term = filter.search?.trim().toLocaleLowerCase();
  if (!term) return true;
  if (routeText.includes(term)) return true;
  return [stop.customerName, stop.address, String(stop.sequence + 1)]
    .some((field) => field !== undefined && field.toLocaleLowerCase().includes(term));
}

/** The server's current value of the record the edit was about, as the server sent it (already redacted). */
function describeServerValue(rejected: RejectedMutation, permissions: ReadonlySet<Permission>): string | null {
  const current: Change | null = rejected.current;
  if (!current) return null;
  if (current.entity === 'removed') return `the ${current.data.kind} was deleted on the server`;
  const specific = optimisticHandlerFor(rejected.mutation).describeCurrent?.(rejected.mutation, current, permissions);
  if (specific != null) return specific;
  if (current.entity === 'stop') return `status: ${statusText(redactStopForViewer(current.data, permissions).status)}`;
  if (current.entity === 'route') return `route “${clip(current.data.name, 200)}”, version ${current.version}`;
  return `version ${current.version}`;
}

export function toRejectedNotice(rejected: RejectedMutation, label: string | null, permissions: ReadonlySet<Permission>): RejectedNotice {
  const m = rejected.mutation;
  return {
    id: m.id,
    locationId: m.locationId,
    type: m.type,
    target: { ...mutationTarget(m), label },
    attempted: optimisticHandlerFor(m).describe(m),
    code: rejected.code,
    reason: clip(rejected.reason, 2000),
    serverValue: describeServerValue(rejected, permissions),
    rejectedAt: rejected.rejectedAt,
  };
}
