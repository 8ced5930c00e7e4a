import type { FleetView } from '@depotline/shared';

/**
 * A driver and a vehicle to assign: retired ones are never offered (one already on the route is
 * named, marked retired, so the user sees what is there). `''` is "nobody".
 */
export function CrewPicker({ fleet, driverId, vehicleId, onDriver, onVehicle, disabled, testPrefix, keep }: {
  fleet: FleetView;
  driverId: string;
  vehicleId: string;
  onDriver: (id: string) => void;
  onVehicle: (id: string) => void;
  disabled?: boolean;
  testPrefix: string;
  /** The value of a "keep each route's own" choice, for bulk assignment. */
  keep?: string;
}) {
  const drivers = fleet.drivers.filter((d) => !d.retired || d.id === driverId);
  const vehicles = fleet.vehicles.filter((v) => !v.retired || v.id === vehicleId);
  return (
    <>
      <label className="crew-field">
        <span>Driver</span>
        <select value={driverId} onChange={(e) => onDriver(e.target.value)} disabled={disabled} data-testid={`${testPrefix}-driver`}>
          {keep !== undefined && <option value={keep}>Keep each route’s driver</option>}
          <option value="">No driver</option>
          {drivers.map((d) => <option key={d.id} value={d.id} disabled={d.retired}>{d.name}{d.retired ? ' (retired)' : ''}</option>)}
        </select>
      </label>
      <label className="crew-field">
        <span>Vehicle</span>
        <select value={vehicleId} onChange={(e) => onVehicle(e.target.value)} disabled={disabled} data-testid={`${testPrefix}-vehicle`}>
          {keep !== undefined && <option value={keep}>Keep each route’s vehicle</option>}
          <option value="">No vehicle</option>
          {vehicles.map((v) => <option key={v.id} value={v.id} disabled={v.retired}>{v.label}{v.plate ? ` · ${v.plate}` : ''}{v.retired ? ' (retired)' : ''}</option>)}
        </select>
      </label>
    </>
  );
}
