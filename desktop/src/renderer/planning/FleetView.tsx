import { useState, type FormEvent } from 'react';
import type { FleetDriverView, FleetVehicleView, LocationView } from '@depotline/shared';
import { call } from '../bridge';
import { useQuery } from '../console/hooks';
import { useAction } from '../security/use-action';
import './planning.css';

/**
 * The depot's drivers and vehicles, for holders of `fleet.manage`: add, rename, retire. A retired
 * driver or vehicle stays named on past routes and is never offered again; the server refuses to
 * retire one still assigned to a route with open stops. Each change is an outbox edit.
 */
export function FleetView({ location, dataVersion }: { location: LocationView; dataVersion: number }) {
  const [version, setVersion] = useState(0);
  const fleet = useQuery(() => call('listFleet', { locationId: location.id }), [location.id, dataVersion, version]);
  const changed = () => setVersion((v) => v + 1);
  const drivers = fleet.data?.drivers ?? [];
  const vehicles = fleet.data?.vehicles ?? [];
  return (
    <div className="fleet" data-testid="fleet">
      <section className="gov-section plan-section" aria-label="Drivers">
        <header><h3>Drivers</h3><span className="muted">{drivers.filter((d) => !d.retired).length} active</span></header>
        <NewDriver locationId={location.id} onDone={changed} />
        <ul className="fleet-list">{drivers.map((d) => <DriverRow key={d.id} driver={d} onDone={changed} />)}</ul>
      </section>
      <section className="gov-section plan-section" aria-label="Vehicles">
        <header><h3>Vehicles</h3><span className="muted">{vehicles.filter((v) => !v.retired).length} active</span></header>
        <NewVehicle locationId={location.id} onDone={changed} />
        <ul className="fleet-list">{vehicles.map((v) => <VehicleRow key={v.id} vehicle={v} onDone={changed} />)}</ul>
      </section>
      {fleet.error && <p className="pane-error" role="alert">{fleet.error}</p>}
    </div>
  );
}

function NewDriver({ locationId, onDone }: { locationId: string; onDone: () => void }) {
  const [name, setName] = useState('');
  const action = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => { await call('createDriver', { locationId, name }); setName(''); onDone(); });
  };
  return (
    <form className="fleet-form" onSubmit={submit} data-testid="new-driver-form">
      <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} placeholder="New driver’s name" aria-label="New driver’s name" data-testid="new-driver-name" />
      <button type="submit" disabled={action.busy || !name.trim()} data-testid="new-driver-add">Add driver</button>
      {action.error && <span className="form-error" role="alert">{action.error}</span>}
    </form>
  );
}

function NewVehicle({ locationId, onDone }: { locationId: string; onDone: () => void }) {
  const [label, setLabel] = useState('');
  const [plate, setPlate] = useState('');
  const action = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => { await call('createVehicle', { locationId, label, plate }); setLabel(''); setPlate(''); onDone(); });
  };
  return (
    <form className="fleet-form" onSubmit={submit} data-testid="new-vehicle-form">
      <input value={label} onChange={(e) => setLabel(e.target.value)} maxLength={100} placeholder="Label, e.g. Van 7" aria-label="New vehicle’s label" data-testid="new-vehicle-label" />
      <input value={plate} onChange={(e) => setPlate(e.target.value)} maxLength={32} placeholder="Plate" aria-label="New vehicle’s plate" data-testid="new-vehicle-plate" />
      <button type="submit" disabled={action.busy || !label.trim()} data-testid="new-vehicle-add">Add vehicle</button>
      {action.error && <span className="form-error" role="alert">{action.error}</span>}
    </form>
  );
}

function DriverRow({ driver, onDone }: { driver: FleetDriverView; onDone: () => void }) {
  const [name, setName] = useState<string | null>(null);
  const action = useAction();
  const save = (e: FormEvent) => {
    e.preventDefault();
    if (name === null) return;
    void action.run(async () => { await call('updateDriver', { driverId: driver.id, name }); setName(null); onDone(); });
  };
  return (
    <li className={`fleet-row ${driver.retired ? 'retired' : ''}`} data-testid="fleet-driver" data-driver-id={driver.id} data-retired={driver.retired}>
      <form onSubmit={save} className="fleet-form">
        <input value={name ?? driver.name} disabled={driver.retired} onChange={(e) => setName(e.target.value)} aria-label={`Name of ${driver.name}`} data-testid="driver-name" />
        {name !== null && name !== driver.name && <button type="submit" disabled={action.busy} data-testid="driver-save">Save</button>}
        {driver.hasLogin && <span className="gov-chip">signs in</span>}
        {driver.retired ? <span className="gov-chip retired">retired</span> : (
          <button type="button" disabled={action.busy} onClick={() => void action.run(async () => { await call('retireDriver', { driverId: driver.id }); onDone(); })} data-testid="driver-retire">Retire</button>
        )}
        {action.error && <span className="form-error" role="alert">{action.error}</span>}
      </form>
    </li>
  );
}

function VehicleRow({ vehicle, onDone }: { vehicle: FleetVehicleView; onDone: () => void }) {
  const [label, setLabel] = useState<string | null>(null);
  const [plate, setPlate] = useState<string | null>(null);
  const action = useAction();
  const dirty = (label !== null && label !== vehicle.label) || (plate !== null && plate !== vehicle.plate);
  const save = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      await call('updateVehicle', { vehicleId: vehicle.id, label: label ?? vehicle.label, plate: plate ?? vehicle.plate });
      setLabel(null);
      setPlate(null);
      onDone();
    });
  };
  return (
    <li className={`fleet-row ${vehicle.retired ? 'retired' : ''}`} data-testid="fleet-vehicle" data-vehicle-id={vehicle.id} data-retired={vehicle.retired}>
      <form onSubmit={save} className="fleet-form">
        <input value={label ?? vehicle.label} disabled={vehicle.retired} onChange={(e) => setLabel(e.target.value)} aria-label={`Label of ${vehicle.label}`} data-testid="vehicle-label" />
        <input value={plate ?? vehicle.plate} disabled={vehicle.retired} onChange={(e) => setPlate(e.target.value)} aria-label={`Plate of ${vehicle.label}`} data-testid="vehicle-plate" className="plate" />
        {dirty && <button type="submit" disabled={action.busy} data-testid="vehicle-save">Save</button>}
        {vehicle.retired ? <span className="gov-chip retired">retired</span> : (
          <button type="button" disabled={action.busy} onClick={() => void action.run(async () => { await call('retireVehicle', { vehicleId: vehicle.id }); onDone(); })} data-testid="vehicle-retire">Retire</button>
        )}
        {action.error && <span className="form-error" role="alert">{action.error}</span>}
      </form>
    </li>
  );
}
