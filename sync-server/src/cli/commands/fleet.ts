import type { Driver, Vehicle } from '@depotline/shared';
import { createDriver, createVehicle, DriverCreateInput, VehicleCreateInput } from '../../provisioning/fleet';
import {
  DriverUpdateInput, listDrivers, listVehicles, retireDriver, retireVehicle, updateDriver, updateVehicle, VehicleUpdateInput,
} from '../../provisioning/fleet-records';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, isoTime, optionalString, parseCliInput, requiredString } from '../command';
import { requireUserByUsername } from './users';

const driverCreate: CliCommand = {
  group: 'driver',
  name: 'create',
  summary: 'Add a driver at a location, optionally linked to their user account',
  options: {
    location: { type: 'string', value: '<location id>', description: 'Where the driver works', required: true },
    name: { type: 'string', value: '<name>', description: 'The driver\u2019s name', required: true },
    id: { type: 'string', value: '<id>', description: 'Record id (generated when omitted)' },
    user: { type: 'string', value: '<username>', description: 'The driver\u2019s own login: they then see the routes assigned to them' },
  },
  prepare(values) {
    const input = parseCliInput(DriverCreateInput, {
      id: optionalString(values, 'id'), locationId: requiredString(values, 'location'), name: requiredString(values, 'name'),
    }, { locationId: 'location' });
    const username = optionalString(values, 'user');
    return async (ctx) => {
      const userId = username === undefined ? null : (await requireUserByUsername(ctx, username)).id;
      const driver = await createDriver(ctx, operatorActor(), { ...input, userId });
      const linked = username === undefined ? '' : `, linked to user ${username}`;
      return { json: { driver }, text: `Created driver ${driver.id} at ${driver.locationId}${linked}.` };
    };
  },
};

const vehicleCreate: CliCommand = {
  group: 'vehicle',
  name: 'create',
  summary: 'Add a vehicle at a location',
  options: {
    location: { type: 'string', value: '<location id>', description: 'Where the vehicle is based', required: true },
    label: { type: 'string', value: '<label>', description: 'What dispatchers call it, e.g. "Van 3"', required: true },
    plate: { type: 'string', value: '<plate>', description: 'Registration plate', required: true },
    id: { type: 'string', value: '<id>', description: 'Record id (generated when omitted)' },
  },
  prepare(values) {
    const input = parseCliInput(VehicleCreateInput, {
      id: optionalString(values, 'id'), locationId: requiredString(values, 'location'),
      label: requiredString(values, 'label'), plate: requiredString(values, 'plate'),
    }, { locationId: 'location' });
    return async (ctx) => {
      const vehicle = await createVehicle(ctx, operatorActor(), input);
      return { json: { vehicle }, text: `Created vehicle ${vehicle.id} (${vehicle.label}, ${vehicle.plate}) at ${vehicle.locationId}.` };
    };
  },
};

const idOption = (what: string) => ({ type: 'string' as const, value: '<id>', description: `The ${what}\u2019s record id`, required: true });
const retiredText = (r: { retiredAt?: number | null }) => (r.retiredAt != null ? `retired ${isoTime(r.retiredAt)}` : 'active');
const driverLine = (d: Driver) => `${d.id}\t${d.name}\t${d.userId === null ? 'no login' : `login ${d.userId}`}\t${retiredText(d)}`;
const vehicleLine = (v: Vehicle) => `${v.id}\t${v.label}\t${v.plate}\t${retiredText(v)}`;

const driverUpdate: CliCommand = {
  group: 'driver',
  name: 'update',
  summary: 'Rename a driver',
  options: { id: idOption('driver'), name: { type: 'string', value: '<name>', description: 'The driver\u2019s new name', required: true } },
  prepare(values) {
    const input = parseCliInput(DriverUpdateInput, { id: requiredString(values, 'id'), name: requiredString(values, 'name') });
    return async (ctx) => {
      const driver = await updateDriver(ctx, operatorActor(), input);
      return { json: { driver }, text: `Renamed driver ${driver.id}.` };
    };
  },
};

const driverRetire: CliCommand = {
  group: 'driver',
  name: 'retire',
  summary: 'Retire a driver: kept on past routes, never assigned again (refused while they have routes with stops to do)',
  options: { id: idOption('driver') },
  prepare(values) {
    const id = requiredString(values, 'id');
    return async (ctx) => {
      const driver = await retireDriver(ctx, operatorActor(), id);
      return { json: { driver }, text: `Retired driver ${driver.id}.` };
    };
  },
};

const driverList: CliCommand = {
  group: 'driver',
  name: 'list',
  summary: 'List the drivers of a location, retired ones included',
  options: { location: { type: 'string', value: '<location id>', description: 'The location', required: true } },
  prepare(values) {
    const locationId = requiredString(values, 'location');
    return async (ctx) => {
      const drivers = await listDrivers(ctx, locationId);
      return { json: { drivers }, text: drivers.length === 0 ? `No drivers at ${locationId}.` : drivers.map(driverLine).join('\n') };
    };
  },
};

const vehicleUpdate: CliCommand = {
  group: 'vehicle',
  name: 'update',
  summary: 'Change a vehicle\u2019s label or plate',
  options: {
    id: idOption('vehicle'),
    label: { type: 'string', value: '<label>', description: 'The new label' },
    plate: { type: 'string', value: '<plate>', description: 'The new registration plate' },
  },
  prepare(values) {
    const input = parseCliInput(VehicleUpdateInput, { id: requiredString(values, 'id'), label: optionalString(values, 'label'), plate: optionalString(values, 'plate') });
    return async (ctx) => {
      const vehicle = await updateVehicle(ctx, operatorActor(), input);
      return { json: { vehicle }, text: `Updated vehicle ${vehicle.id} (${vehicle.label}, ${vehicle.plate}).` };
    };
  },
};

const vehicleRetire: CliCommand = {
  group: 'vehicle',
  name: 'retire',
  summary: 'Retire a vehicle: kept on past routes, never assigned again (refused while it has routes with stops to do)',
  options: { id: idOption('vehicle') },
  prepare(values) {
    const id = requiredString(values, 'id');
    return async (ctx) => {
      const vehicle = await retireVehicle(ctx, operatorActor(), id);
      return { json: { vehicle }, text: `Retired vehicle ${vehicle.id}.` };
    };
  },
};

const vehicleList: CliCommand = {
  group: 'vehicle',
  name: 'list',
  summary: 'List the vehicles of a location, retired ones included',
  options: { location: { type: 'string', value: '<location id>', description: 'The location', required: true } },
  prepare(values) {
    const locationId = requiredString(values, 'location');
    return async (ctx) => {
      const vehicles = await listVehicles(ctx, locationId);
      return { json: { vehicles }, text: vehicles.length === 0 ? `No vehicles at ${locationId}.` : vehicles.map(vehicleLine).join('\n') };
    };
  },
};

export const fleetCommands = [driverCreate, driverUpdate, driverRetire, driverList, vehicleCreate, vehicleUpdate, vehicleRetire, vehicleList];
