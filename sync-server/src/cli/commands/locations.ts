import { createLocation, listLocations, LocationCreateInput } from '../../provisioning/locations';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, isoTime, parseCliInput, requiredString } from '../command';

const locationCreate: CliCommand = {
  group: 'location',
  name: 'create',
  summary: 'Create a location (depot)',
  options: {
    id: { type: 'string', value: '<id>', description: 'Stable id, e.g. depot-north (letters, digits, _ . : -)', required: true },
    name: { type: 'string', value: '<name>', description: 'Display name, e.g. "North Depot"', required: true },
    timezone: { type: 'string', value: '<zone>', description: 'IANA time zone of the depot, e.g. Europe/Berlin', required: true },
  },
  prepare(values) {
    const input = parseCliInput(LocationCreateInput, {
      id: requiredString(values, 'id'), name: requiredString(values, 'name'), timezone: requiredString(values, 'timezone'),
    });
    return async (ctx) => {
      const location = await createLocation(ctx, operatorActor(), input);
      return { json: { location }, text: `Created location ${location.id} (${location.name}, ${location.timezone}).` };
    };
  },
};

const locationList: CliCommand = {
  group: 'location',
  name: 'list',
  summary: 'List locations',
  options: {},
  prepare() {
    return async (ctx) => {
      const locations = await listLocations(ctx);
      const text = locations.length === 0
        ? 'No locations yet. Create one with: depotline-admin location create --id <id> --name <name> --timezone <zone>'
        : locations.map((l) => `${l.id}\t${l.name}\t${l.timezone}\tcreated ${isoTime(l.createdAt)}`).join('\n');
      return { json: { locations }, text };
    };
  },
};

export const locationCommands = [locationCreate, locationList];
