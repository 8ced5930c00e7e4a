import { createDriver, createVehicle, DriverCreateInput, VehicleCreateInput } from '../../provisioning/fleet';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, optionalString, parseCliInput, requiredString } from '../command';
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

export const fleetCommands = [driverCreate, vehicleCreate];
