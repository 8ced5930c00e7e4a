import {
  PermissionName, redactStopForViewer, stopTransitions,
  type Change, type Driver, type DriverPosition, type LocationView, type Permission, type PositionView, type RejectedNotice,
  type Route, type RouteRowView, type Stop, type StopDetailView, type StopRowView, type StopStatus,
} from '@depotline/shared';
import type { BoardRow, PendingMutation, RejectedMutation, StoredLocation } from '../../core';

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
    pending,
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
  return {
    stop: {
      id: visible.id,
      locationId: visible.locationId,
      routeId: visible.routeId,
      sequence: visible.sequence,
      ...(visible.customerName !== undefined ? { customerName: visible.customerName } : {}),
      ...(visible.address !== undefined ? { address: visible.address } : {}),
      ...(visible.phone !== undefined ? { phone: visible.phone } : {}),
      ...(notesVisible ? { notes: visible.notes ?? '' } : {}),
      window: visible.window,
      status: visible.status,
      eta: visible.eta,
      updatedAt: visible.updatedAt,
      updatedBy: visible.updatedBy,
    },
    routeName: input.route?.name ?? null,
    driverName: input.driverName,
    allowedTransitions: offeredTransitions(visible.status, permissions),
    notesVisible,
    canEditNotes: notesVisible && permissions.has('stop.editNotes'),
    pendingEdits: input.pendingEdits,
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
    const m = p.mutation;
    if (m.type === 'stop.setStatus' || m.type === 'stop.editNotes' || m.type === 'stop.update' || m.type === 'stop.create') {
      counts.set(m.stopId, (counts.get(m.stopId) ?? 0) + 1);
    }
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

/** Statuses as people write them, for notices. */
export const statusText = (status: StopStatus) => status.replace('_', ' ');

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function describeAttempt(rejected: RejectedMutation): string {
  const m = rejected.mutation;
  switch (m.type) {
    case 'stop.setStatus': return `status: ${statusText(m.to)}`;
    case 'stop.editNotes': return `notes: “${clip(m.notes, 500)}”`;
    case 'stop.create': return `new stop for ${clip(m.customerName, 200)}`;
    case 'stop.update': return `changes to ${Object.keys(m.changes).join(', ')}`;
    case 'route.create': return `new route “${clip(m.name, 200)}”`;
    case 'route.assign': return 'driver and vehicle assignment';
    case 'position.report': return 'position report';
  }
}

/** The server's current value of the field the edit was about, as the server sent it (already redacted). */
function describeServerValue(rejected: RejectedMutation, permissions: ReadonlySet<Permission>): string | null {
  const current: Change | null = rejected.current;
  if (!current) return null;
  if (current.entity === 'removed') return `the ${current.data.kind} was deleted on the server`;
  const m = rejected.mutation;
  if (current.entity === 'stop') {
    const stop = redactStopForViewer(current.data, permissions);
    if (m.type === 'stop.editNotes') return stop.notes !== undefined ? `notes: “${clip(stop.notes, 500)}”` : 'notes are not visible to you';
    return `status: ${statusText(stop.status)}`;
  }
  if (current.entity === 'route') return `route “${clip(current.data.name, 200)}”, version ${current.version}`;
  return `version ${current.version}`;
}

export function toRejectedNotice(rejected: RejectedMutation, label: string | null, permissions: ReadonlySet<Permission>): RejectedNotice {
  const m = rejected.mutation;
  const target = m.type.startsWith('stop.')
    ? { kind: 'stop' as const, id: 'stopId' in m ? m.stopId : '' }
    : m.type === 'position.report'
      ? { kind: 'position' as const, id: 'driverId' in m ? m.driverId : '' }
      : { kind: 'route' as const, id: 'routeId' in m ? m.routeId : '' };
  return {
    id: m.id,
    locationId: m.locationId,
    type: m.type,
    target: { ...target, label },
    attempted: describeAttempt(rejected),
    code: rejected.code,
    reason: clip(rejected.reason, 2000),
    serverValue: describeServerValue(rejected, permissions),
    rejectedAt: rejected.rejectedAt,
  };
}
