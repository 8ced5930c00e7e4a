import { EntityId, type Group, GroupCreate, GroupUpdate } from '@depotline/shared';
import { z } from 'zod';
import type { Granter } from '../../access/authority';
import { findGroup, type GroupRecord, listGroupRecords, presentGroup, presentGroups } from '../../access/group-records';
import { applyGroupCreate, applyGroupRetire, applyGroupUpdate } from '../../access/groups';
import { listLocationHolders } from '../../access/location-holders';
import type { ServerContext } from '../../context';
import { badRequest, notFound } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, type CliValues, commaList, isoTime, optionalInteger, optionalString, parseCliInput, requiredString } from '../command';

/* `depotline-admin group ...` and `access show`: permission groups and who holds what (docs/operations.md). */

const operator = (): Granter => ({ kind: 'operator', actor: operatorActor() });

/** `--allow a,b`; an empty value (`--deny ""`) is an empty list. */
const listOption = (values: CliValues, name: string) => {
  const v = optionalString(values, name);
  return v === undefined ? undefined : commaList(v);
};

const flagOf = { permissions: 'allow', denials: 'deny', locationIds: 'locations', expectedVersion: 'expected-version', mfaRequired: 'mfa', mustExpire: 'must-expire' };

const yesNo = (values: CliValues, name: string, yes: string, no: string): boolean | undefined => {
  const v = optionalString(values, name)?.trim();
  if (v === undefined) return undefined;
  if (v === yes || v === no) return v === yes;
  throw badRequest([`--${name}: use ${yes} or ${no}, got "${v}"`]);
};

export function describeGroup(g: Group): string {
  return [
    `${g.name}\t${g.id}\tversion ${g.version}${g.retiredAt !== null ? `\tretired ${isoTime(g.retiredAt)}` : ''}`,
    `  allows: ${g.permissions.join(', ') || '(nothing)'}`,
    `  denies: ${g.denials.join(', ') || '(nothing)'}`,
    `  grantable at: ${g.locationIds.join(', ')}`,
    `  MFA ${g.mfaRequired ? 'required' : 'waived where the role policy allows'}; grants ${g.mustExpire ? 'must expire' : 'may be open-ended'}; ${g.holders} holder(s)`,
  ].join('\n');
}

async function requireGroupByName(ctx: ServerContext, name: string): Promise<GroupRecord> {
  const group = await findGroup(ctx.db, { name });
  if (!group) throw notFound(`The group ${name}`);
  return group;
}

const groupCreate: CliCommand = {
  group: 'group',
  name: 'create',
  summary: 'Define a permission group: permissions it allows, denials, and where it may be granted',
  fieldFlags: flagOf,
  options: {
    name: { type: 'string', value: '<name>', description: 'Lower-case name, e.g. no-phones', required: true },
    allow: { type: 'string', value: '<perm,perm,...>', description: 'Permissions from the catalogue the group allows (may be empty: "")', required: true },
    deny: { type: 'string', value: '<perm,perm,...>', description: 'Permissions the group denies, whatever other grants give' },
    locations: { type: 'string', value: '<id,id,...>', description: 'Where the group may be granted', required: true },
    description: { type: 'string', value: '<text>', description: 'What the group is for' },
    mfa: { type: 'string', value: 'required|waived', description: 'Default required; waived only counts where a role without MFA already allows everything the group does' },
    'must-expire': { type: 'string', value: 'yes|no', description: 'Grants of the group must carry an expiry (default no)' },
  },
  notes: ['Example: depotline-admin group create --name no-phones --allow "" --deny stop.readPhone --locations depot-north'],
  prepare(values) {
    const input = parseCliInput(GroupCreate, {
      name: requiredString(values, 'name').trim(), description: optionalString(values, 'description'),
      permissions: listOption(values, 'allow'), denials: listOption(values, 'deny'), locationIds: commaList(requiredString(values, 'locations')),
      mfaRequired: yesNo(values, 'mfa', 'required', 'waived'), mustExpire: yesNo(values, 'must-expire', 'yes', 'no'),
    }, flagOf);
    return async (ctx) => {
      const record = await ctx.db.transaction().execute((trx) => applyGroupCreate(trx, operator(), input, ctx.now()));
      const group = await presentGroup(ctx.db, record, null, ctx.now());
      return { json: { group }, text: `Created group ${group.name}.\n${describeGroup(group)}` };
    };
  },
};

const groupUpdate: CliCommand = {
  group: 'group',
  name: 'update',
  summary: 'Change a group; its holders\u2019 open sessions follow at once',
  fieldFlags: flagOf,
  options: {
    group: { type: 'string', value: '<name>', description: 'The group to change', required: true },
    rename: { type: 'string', value: '<name>', description: 'A new name' },
    allow: { type: 'string', value: '<perm,...>', description: 'Replaces what the group allows' },
    deny: { type: 'string', value: '<perm,...>', description: 'Replaces the group\u2019s denials ("" for none)' },
    locations: { type: 'string', value: '<id,...>', description: 'Replaces where it may be granted' },
    description: { type: 'string', value: '<text>', description: 'A new description' },
    mfa: { type: 'string', value: 'required|waived', description: 'Whether holders must use MFA' },
    'must-expire': { type: 'string', value: 'yes|no', description: 'Whether its grants must expire' },
    'expected-version': { type: 'string', value: '<n>', description: 'Refuse if the group changed since this version' },
  },
  prepare(values) {
    const name = requiredString(values, 'group').trim();
    const locations = optionalString(values, 'locations');
    const input = parseCliInput(GroupUpdate, {
      name: optionalString(values, 'rename')?.trim(), description: optionalString(values, 'description'),
      permissions: listOption(values, 'allow'), denials: listOption(values, 'deny'), locationIds: locations === undefined ? undefined : commaList(locations),
      mfaRequired: yesNo(values, 'mfa', 'required', 'waived'), mustExpire: yesNo(values, 'must-expire', 'yes', 'no'),
      expectedVersion: optionalInteger(values, 'expected-version'),
    }, flagOf);
    return async (ctx) => {
      const before = await requireGroupByName(ctx, name);
      const { after } = await ctx.db.transaction().execute((trx) => applyGroupUpdate(trx, operator(), before.id, input, ctx.now()));
      const group = await presentGroup(ctx.db, after, null, ctx.now());
      return { json: { group }, text: `Updated group ${group.name} (version ${group.version}).\n${describeGroup(group)}` };
    };
  },
};

const groupRetire: CliCommand = {
  group: 'group',
  name: 'retire',
  summary: 'Retire a group: its grants are revoked and it can no longer be granted',
  options: { group: { type: 'string', value: '<name>', description: 'The group to retire', required: true } },
  prepare(values) {
    const name = requiredString(values, 'group').trim();
    return async (ctx) => {
      const before = await requireGroupByName(ctx, name);
      const result = await ctx.db.transaction().execute((trx) => applyGroupRetire(trx, operator(), before.id, ctx.now()));
      const group = await presentGroup(ctx.db, result.group, null, ctx.now());
      const text = result.changed
        ? `Retired group ${group.name}; revoked ${result.revokedGrantIds.length} grant(s).`
        : `Group ${group.name} was already retired; nothing changed.`;
      return { json: { group, revokedGrantIds: result.revokedGrantIds, changed: result.changed }, text };
    };
  },
};

const groupList: CliCommand = {
  group: 'group',
  name: 'list',
  summary: 'List permission groups',
  options: {
    location: { type: 'string', value: '<id>', description: 'Only groups that may be granted there' },
    'include-retired': { type: 'boolean', description: 'Show retired groups too' },
  },
  prepare(values) {
    const location = optionalString(values, 'location');
    const locationId = location === undefined ? undefined : parseCliInput(z.object({ location: EntityId }), { location }).location;
    return async (ctx) => {
      const groups = await presentGroups(ctx.db, await listGroupRecords(ctx.db, { within: null, locationId, includeRetired: values['include-retired'] === true }), null, ctx.now());
      const text = groups.length === 0 ? 'No groups.' : groups.map(describeGroup).join('\n');
      return { json: { groups }, text };
    };
  },
};

const groupShow: CliCommand = {
  group: 'group',
  name: 'show',
  summary: 'Show one permission group',
  options: { group: { type: 'string', value: '<name>', description: 'The group', required: true } },
  prepare(values) {
    const name = requiredString(values, 'group').trim();
    return async (ctx) => {
      const group = await presentGroup(ctx.db, await requireGroupByName(ctx, name), null, ctx.now());
      return { json: { group }, text: describeGroup(group) };
    };
  },
};

const accessShow: CliCommand = {
  group: 'access',
  name: 'show',
  summary: 'Who holds what at a location: each user\u2019s roles, groups and effective permissions',
  options: { location: { type: 'string', value: '<id>', description: 'The location', required: true } },
  prepare(values) {
    const { location } = parseCliInput(z.object({ location: EntityId }), { location: requiredString(values, 'location') });
    return async (ctx) => {
      const found = await ctx.db.selectFrom('locations').select('id').where('id', '=', location).executeTakeFirst();
      if (!found) throw notFound(`The location ${location}`);
      const holders = await listLocationHolders(ctx.db, location, ctx.config.mfaRequiredRoles, null, ctx.now());
      const text = holders.length === 0 ? `Nobody holds access at ${location}.` : holders.map((h) => [
        `${h.username}\t${h.grants.map((g) => g.role ?? `group:${g.group?.name}`).join(', ')}${h.mfaRequired ? '\tMFA' : ''}`,
        `  may: ${h.permissions.join(', ') || '(nothing for everything)'}`,
        ...(h.assignedPermissions.length > 0 ? [`  on own routes also: ${h.assignedPermissions.join(', ')}`] : []),
        ...(h.denials.length > 0 ? [`  denied: ${h.denials.join(', ')}`] : []),
      ].join('\n')).join('\n');
      return { json: { locationId: location, holders }, text };
    };
  },
};

export const groupCommands = [groupCreate, groupUpdate, groupRetire, groupList, groupShow, accessShow];
