import { badRequest } from '../../errors';
import { createLocation, editLocation, listLocations, LocationCreateInput, LocationEditInput } from '../../provisioning/locations';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, isoTime, optionalString, parseCliInput, requiredString } from '../command';

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

const locationEdit: CliCommand = {
  group: 'location',
  name: 'edit',
  summary: 'Change a location\u2019s name or time zone (its id never changes)',
  options: {
    id: { type: 'string', value: '<id>', description: 'The location', required: true },
    name: { type: 'string', value: '<name>', description: 'New display name' },
    timezone: { type: 'string', value: '<zone>', description: 'New IANA time zone; applies to what is dated from now on' },
  },
  notes: ['Example: depotline-admin location edit --id depot-north --name "North Depot (Hall 2)"'],
  prepare(values) {
    const name = optionalString(values, 'name');
    const timezone = optionalString(values, 'timezone');
    if (name === undefined && timezone === undefined) throw badRequest(['name at least one of --name and --timezone']);
    const input = parseCliInput(LocationEditInput, { id: requiredString(values, 'id'), name, timezone });
    return async (ctx) => {
      const { location, changed } = await editLocation(ctx, operatorActor(), input);
      return {
        json: { location, changed },
        text: changed.length === 0 ? `Location ${location.id} already reads like that; nothing changed.`
          : `Location ${location.id} is now ${location.name} (${location.timezone}); changed ${changed.join(' and ')}.`,
      };
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

export const locationCommands = [locationCreate, locationEdit, locationList];
