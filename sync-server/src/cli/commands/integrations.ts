import { IntegrationCreate, IntegrationSuspend, IntegrationUpdate, type IntegrationView } from '@depotline/shared';
import type { Granter } from '../../access/authority';
import type { ServerContext } from '../../context';
import { badRequest, notFound } from '../../errors';
import { findIntegration, type IntegrationRecord, listIntegrationRecords, presentIntegration } from '../../integrations/records';
import {
  applyIntegrationCreate, applyIntegrationResume, applyIntegrationSuspend, applyIntegrationUpdate,
} from '../../integrations/registry';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, type CliValues, commaList, isoTime, optionalInteger, optionalString, parseCliInput, requiredString } from '../command';

/*
 * `depotline-admin integration create|list|show|update|suspend|resume|allowlist|profile` (docs/operations.md,
 * "Integrations"). The operator on the server host is trusted like for grants, so turning on a
 * contact or billing field here needs no second admin; every change is audited as `cli:<user>`.
 * The same scopes are given at every location named; per-location scopes are set over REST.
 */

const operator = (): Granter => ({ kind: 'operator', actor: operatorActor() });

const flagOf = {
  scopes: 'scopes', dataProfile: 'profile', ipAllowlist: 'allowlist', autoSuspendOnAlert: 'auto-suspend', orderVisibility: 'orders', expectedVersion: 'expected-version',
};

/** `--allowlist ""` clears a list; absent leaves it. */
const listOption = (values: CliValues, name: string) => {
  const v = optionalString(values, name);
  return v === undefined ? undefined : commaList(v);
};

const yesNo = (values: CliValues, name: string): boolean | undefined => {
  const v = optionalString(values, name)?.trim();
  if (v === undefined) return undefined;
  if (v === 'yes' || v === 'no') return v === 'yes';
  throw badRequest([`--${name}: use yes or no, got "${v}"`]);
};

/** `--locations a,b --scopes orders.write,status.read`: the same scopes at each location. */
function scopesOption(values: CliValues, required: boolean): { locationId: string; permissions: string[] }[] | undefined {
  const locations = optionalString(values, 'locations');
  const scopes = optionalString(values, 'scopes');
  if (locations === undefined && scopes === undefined && !required) return undefined;
  if (locations === undefined || scopes === undefined) throw badRequest(['--locations and --scopes go together (the scopes held at each location named)']);
  return commaList(locations).map((locationId) => ({ locationId, permissions: commaList(scopes) }));
}

export function describeIntegration(i: IntegrationView): string {
  return [
    `${i.name}\t${i.id}\t${i.kind}\tversion ${i.version}${i.suspendedAt !== null ? `\tSUSPENDED ${isoTime(i.suspendedAt)}` : ''}`,
    `  contact: ${i.contact}`,
    ...i.scopes.map((s) => `  at ${s.locationId}: ${s.permissions.join(', ')}`),
    `  receives: ${i.dataProfile.join(', ') || '(ids only)'}`,
    `  allowlist: ${i.ipAllowlist.join(', ') || '(any address)'}`,
    `  orders it reads: ${i.orderVisibility === 'location' ? 'every order at its locations' : 'only those it created'}`,
    `  suspended automatically on an alert: ${i.autoSuspendOnAlert ? 'yes' : 'no'}`,
    ...i.warnings.map((w) => `  warning: ${w}`),
  ].join('\n');
}

async function requireByName(ctx: ServerContext, nameOrId: string): Promise<IntegrationRecord> {
  const found = (await findIntegration(ctx.db, { name: nameOrId.trim().toLowerCase() })) ?? (await findIntegration(ctx.db, { id: nameOrId.trim() }));
  if (!found) throw notFound(`The integration "${nameOrId}"`);
  return found;
}

const shown = (record: IntegrationRecord, verb: string) => {
  const integration = presentIntegration(record);
  return { json: { integration }, text: `${verb} integration ${integration.name}.\n${describeIntegration(integration)}` };
};

const integrationOption = { type: 'string', value: '<name|id>', description: 'The integration', required: true } as const;
const shapeOptions = {
  locations: { type: 'string', value: '<id,id,...>', description: 'The locations it works at (with --scopes)' },
  scopes: { type: 'string', value: '<scope,...>', description: 'What it may do at each: orders.write, orders.read, status.read, pod.read' },
  profile: { type: 'string', value: '<field,...>', description: 'What it receives: orderRef, status, timeWindow, address, eta, failureReason, customerName, phone, email, notes, billing' },
  allowlist: { type: 'string', value: '<cidr,...>', description: 'Addresses it may call from (192.0.2.0/24, 2001:db8::/32); "" allows any address' },
  'auto-suspend': { type: 'string', value: 'yes|no', description: 'Suspend it automatically on an unusual-activity alert' },
  orders: { type: 'string', value: 'own|location', description: 'Which orders it reads and hears of: only those it created (own, the default) or every order at its locations' },
} as const;

const integrationCreate: CliCommand = {
  group: 'integration',
  name: 'create',
  summary: 'Register an outside system (shop, courier partner...) at locations, with its scopes, data profile and allowlist',
  fieldFlags: flagOf,
  options: {
    name: { type: 'string', value: '<name>', description: 'Lower-case name, e.g. acme-shop (the audit log calls it integration:<name>)', required: true },
    kind: { type: 'string', value: '<kind>', description: 'shop, courier, warehouse, notifications, accounting or other', required: true },
    contact: { type: 'string', value: '<text>', description: 'Who to call at the partner', required: true },
    ...shapeOptions,
    locations: { ...shapeOptions.locations, required: true },
    scopes: { ...shapeOptions.scopes, required: true },
  },
  notes: [
    'Example: depotline-admin integration create --name acme-shop --kind shop --contact ops@acme.example --locations depot-north --scopes orders.write,status.read --allowlist 192.0.2.0/24',
    'The profile defaults to orderRef,status,timeWindow,address; contact and billing fields are turned on afterwards with integration update --profile.',
  ],
  prepare(values) {
    const input = parseCliInput(IntegrationCreate, {
      name: requiredString(values, 'name').trim(), kind: requiredString(values, 'kind').trim(), contact: requiredString(values, 'contact'),
      scopes: scopesOption(values, true), dataProfile: listOption(values, 'profile'), ipAllowlist: listOption(values, 'allowlist'),
      autoSuspendOnAlert: yesNo(values, 'auto-suspend'), orderVisibility: optionalString(values, 'orders')?.trim(),
    }, flagOf);
    return async (ctx) => shown(await ctx.db.transaction().execute((trx) => applyIntegrationCreate(trx, operator(), input, ctx.now())), 'Registered');
  },
};

const integrationList: CliCommand = {
  group: 'integration',
  name: 'list',
  summary: 'List integrations (all, or those working at one location)',
  options: { location: { type: 'string', value: '<id>', description: 'Only those holding a scope at this location' } },
  prepare(values) {
    const locationId = optionalString(values, 'location')?.trim();
    return async (ctx) => {
      const integrations = (await listIntegrationRecords(ctx.db, { within: null, locationId, includeSuspended: true })).map(presentIntegration);
      return { json: { integrations }, text: integrations.length === 0 ? 'No integrations.' : integrations.map(describeIntegration).join('\n\n') };
    };
  },
};

const integrationShow: CliCommand = {
  group: 'integration',
  name: 'show',
  summary: 'Show one integration: scopes, data profile, allowlist, suspension and warnings',
  options: { integration: integrationOption },
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    return async (ctx) => {
      const integration = presentIntegration(await requireByName(ctx, nameOrId));
      return { json: { integration }, text: describeIntegration(integration) };
    };
  },
};

const integrationUpdate: CliCommand = {
  group: 'integration',
  name: 'update',
  summary: 'Change an integration: kind, contact, scopes, data profile, allowlist, orders it reads, auto-suspension (each option given replaces)',
  fieldFlags: flagOf,
  options: {
    integration: integrationOption,
    kind: { type: 'string', value: '<kind>', description: 'shop, courier, warehouse, notifications, accounting or other' },
    contact: { type: 'string', value: '<text>', description: 'Who to call at the partner' },
    ...shapeOptions,
    'expected-version': { type: 'string', value: '<n>', description: 'Refuse if the integration changed since this version' },
  },
  notes: ['Example: depotline-admin integration update --integration acme-shop --allowlist 192.0.2.0/24,2001:db8::/48'],
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const update = parseCliInput(IntegrationUpdate, {
      kind: optionalString(values, 'kind')?.trim(), contact: optionalString(values, 'contact'), scopes: scopesOption(values, false),
      dataProfile: listOption(values, 'profile'), ipAllowlist: listOption(values, 'allowlist'), autoSuspendOnAlert: yesNo(values, 'auto-suspend'),
      orderVisibility: optionalString(values, 'orders')?.trim(), expectedVersion: optionalInteger(values, 'expected-version'),
    }, flagOf);
    return async (ctx) => {
      const { id } = await requireByName(ctx, nameOrId);
      const { after } = await ctx.db.transaction().execute((trx) => applyIntegrationUpdate(trx, operator(), id, update, ctx.now()));
      return shown(after, 'Changed');
    };
  },
};

const integrationSuspend: CliCommand = {
  group: 'integration',
  name: 'suspend',
  summary: 'Refuse every call of an integration, with any of its credentials, until it is resumed',
  options: { integration: integrationOption, reason: { type: 'string', value: '<text>', description: 'Why (kept in the audit log)', required: true } },
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const { reason } = parseCliInput(IntegrationSuspend, { reason: requiredString(values, 'reason') });
    return async (ctx) => {
      const { id } = await requireByName(ctx, nameOrId);
      return shown(await ctx.db.transaction().execute((trx) => applyIntegrationSuspend(trx, operator(), id, reason, ctx.now())), 'Suspended');
    };
  },
};

const integrationResume: CliCommand = {
  group: 'integration',
  name: 'resume',
  summary: 'Let a suspended integration call the API again',
  options: { integration: integrationOption },
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    return async (ctx) => {
      const { id } = await requireByName(ctx, nameOrId);
      return shown(await ctx.db.transaction().execute((trx) => applyIntegrationResume(trx, operator(), id, ctx.now())), 'Resumed');
    };
  },
};

/**
 * `integration allowlist` and `integration profile`: add or remove entries of one list without
 * restating it (`update` replaces the whole list). Parsed with the same schema as `update`.
 */
function listEditCommand(name: 'allowlist' | 'profile', field: 'ipAllowlist' | 'dataProfile', what: string, example: string): CliCommand {
  return {
    group: 'integration',
    name,
    summary: `Add or remove ${what} of an integration (update --${name} replaces the whole list)`,
    options: {
      integration: integrationOption,
      add: { type: 'string', value: '<item,...>', description: `${what} to add` },
      remove: { type: 'string', value: '<item,...>', description: `${what} to remove` },
    },
    notes: [`Example: depotline-admin integration ${name} --integration acme-shop ${example}`],
    prepare(values) {
      const nameOrId = requiredString(values, 'integration');
      const add = commaList(optionalString(values, 'add') ?? '');
      const remove = commaList(optionalString(values, 'remove') ?? '');
      if (add.length === 0 && remove.length === 0) throw badRequest(['--add or --remove: name what to change']);
      // Entries are compared in canonical form, so `--remove ::ffff:192.0.2.0/120` removes 192.0.2.0/24.
      const canonical = (items: string[]) => parseCliInput(IntegrationUpdate, { [field]: items }, flagOf)[field] as string[];
      const added = canonical(add);
      const removed = canonical(remove);
      return async (ctx) => {
        const before = await requireByName(ctx, nameOrId);
        const current: string[] = before[field];
        const next = [...current.filter((x) => !removed.includes(x)), ...added.filter((x) => !current.includes(x))];
        const update = parseCliInput(IntegrationUpdate, { [field]: next, expectedVersion: before.version }, flagOf);
        const { after } = await ctx.db.transaction().execute((trx) => applyIntegrationUpdate(trx, operator(), before.id, update, ctx.now()));
        return shown(after, 'Changed');
      };
    },
  };
}

export const integrationCommands: readonly CliCommand[] = [
  integrationCreate, integrationList, integrationShow, integrationUpdate, integrationSuspend, integrationResume,
  listEditCommand('allowlist', 'ipAllowlist', 'address ranges', '--add 2001:db8:42::/48 --remove 192.0.2.0/24'),
  listEditCommand('profile', 'dataProfile', 'data profile fields', '--add eta --remove address'),
];
