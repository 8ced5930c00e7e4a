import type { Driver, Vehicle } from '@depotline/shared';
import { LocalEditRefusedError } from '../errors';
import { clip, type OptimisticHandlers, requireExisting, type TargetEntity } from './handler';

/** Drivers and vehicles on this device: created, renamed and retired by a manager. */

export function asDriver(e: TargetEntity | null): Driver | null {
  return e && 'userId' in e ? e : null;
}

export function asVehicle(e: TargetEntity | null): Vehicle | null {
  return e && 'plate' in e ? e : null;
}

function requireSeen<V>(field: string, current: V, edit: { from: V; to: V } | undefined): void {
  if (edit === undefined || current === edit.from || current === edit.to) return;
  throw new LocalEditRefusedError('bad_request', `the ${field} is no longer what the edit was based on`);
}

function requireActive(e: { retiredAt?: number | null }, what: string): void {
  if (e.retiredAt != null) throw new LocalEditRefusedError('bad_request', `the ${what} is already retired`);
}

export const fleetEdits = {
  'driver.create': {
    apply(m, current) {
      if (current) return current;
      const driver: Driver = { id: m.driverId, locationId: m.locationId, name: m.name, userId: null, retiredAt: null };
      return driver;
    },
    check(m, current) {
      if (current) throw new LocalEditRefusedError('already_exists', `driver ${m.driverId} already exists`);
      return Promise.resolve();
    },
    describe: (m) => `new driver “${clip(m.name, 200)}”`,
  },
  'driver.update': {
    apply(m, current) {
      const driver = asDriver(current);
      return driver ? { ...driver, name: m.changes.name.to } : null;
    },
    check(m, current) {
      const driver = requireExisting(asDriver(current), 'driver', m.driverId);
      requireSeen('driver’s name', driver.name, m.changes.name);
      return Promise.resolve();
    },
    describe: (m) => `driver’s name: “${clip(m.changes.name.to, 200)}”`,
    describeCurrent: (_m, current) => (current.entity === 'driver' ? `driver’s name: “${clip(current.data.name, 200)}”` : null),
  },
  'driver.retire': {
    apply(m, current) {
      const driver = asDriver(current);
      return driver ? { ...driver, retiredAt: driver.retiredAt ?? m.createdAt } : null;
    },
    check(m, current) {
      requireActive(requireExisting(asDriver(current), 'driver', m.driverId), 'driver');
      return Promise.resolve();
    },
    describe: () => 'retiring the driver',
  },
  'vehicle.create': {
    apply(m, current) {
      if (current) return current;
      const vehicle: Vehicle = { id: m.vehicleId, locationId: m.locationId, label: m.label, plate: m.plate, retiredAt: null };
      return vehicle;
    },
    check(m, current) {
      if (current) throw new LocalEditRefusedError('already_exists', `vehicle ${m.vehicleId} already exists`);
      return Promise.resolve();
    },
    describe: (m) => `new vehicle “${clip(m.label, 100)}”`,
  },
  'vehicle.update': {
    apply(m, current) {
      const vehicle = asVehicle(current);
      if (!vehicle) return null;
      return { ...vehicle, ...(m.changes.label ? { label: m.changes.label.to } : {}), ...(m.changes.plate ? { plate: m.changes.plate.to } : {}) };
    },
    check(m, current) {
      const vehicle = requireExisting(asVehicle(current), 'vehicle', m.vehicleId);
      requireSeen('vehicle’s label', vehicle.label, m.changes.label);
      requireSeen('vehicle’s plate', vehicle.plate, m.changes.plate);
      return Promise.resolve();
    },
    describe: (m) => [
      m.changes.label ? `vehicle label: “${clip(m.changes.label.to, 100)}”` : null,
      m.changes.plate ? `plate: ${clip(m.changes.plate.to, 32)}` : null,
    ].filter((x) => x !== null).join(', '),
    describeCurrent: (m, current) => (current.entity === 'vehicle' ? [
      m.changes.label ? `vehicle label: “${clip(current.data.label, 100)}”` : null,
      m.changes.plate ? `plate: ${clip(current.data.plate, 32)}` : null,
    ].filter((x) => x !== null).join(', ') : null),
  },
  'vehicle.retire': {
    apply(m, current) {
      const vehicle = asVehicle(current);
      return vehicle ? { ...vehicle, retiredAt: vehicle.retiredAt ?? m.createdAt } : null;
    },
    check(m, current) {
      requireActive(requireExisting(asVehicle(current), 'vehicle', m.vehicleId), 'vehicle');
      return Promise.resolve();
    },
    describe: () => 'retiring the vehicle',
  },
} satisfies Pick<OptimisticHandlers, 'driver.create' | 'driver.update' | 'driver.retire' | 'vehicle.create' | 'vehicle.update' | 'vehicle.retire'>;
