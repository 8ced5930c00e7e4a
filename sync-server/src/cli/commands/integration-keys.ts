import { type ApiKeyView, CredentialCreate, CredentialRotate, type OAuthClientView } from '@depotline/shared';
import type { Granter } from '../../access/authority';
import type { ServerContext } from '../../context';
import { notFound } from '../../errors';
import { applyApiKeyCreate, applyApiKeyRevoke, applyApiKeyRotate, listApiKeys } from '../../integrations/api-keys';
import { applyOAuthClientCreate, applyOAuthClientRevoke, applyOAuthClientRotate, listOAuthClients } from '../../integrations/oauth-clients';
import { findIntegration } from '../../integrations/records';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, type CliValues, commaList, isoTime, optionalString, parseCliInput, parseExpiry, requiredString } from '../command';

/*
 * `depotline-admin integration key create|list|rotate|revoke` and `integration oauth-client
 * create|list|rotate|revoke` (docs/operations.md, "Integration credentials"): the same domain
 * functions as the REST API, as the operator. A secret is printed once, by the command that made
 * it; no other command can show it again.
 */

const operator = (): Granter => ({ kind: 'operator', actor: operatorActor() });

async function integrationIdOf(ctx: ServerContext, nameOrId: string): Promise<string> {
  const found = (await findIntegration(ctx.db, { id: nameOrId })) ?? (await findIntegration(ctx.db, { name: nameOrId.trim().toLowerCase() }));
  if (!found) throw notFound(`The integration "${nameOrId}"`);
  return found.id;
}

const integrationOption = { type: 'string', value: '<name|id>', description: 'The integration', required: true } as const;
const expiresOption = (required: boolean, what: string) =>
  ({ type: 'string', value: '<date|time>', description: `${what}: 2027-06-30 (end of that day, UTC) or 2027-06-30T12:00:00Z; at most DEPOTLINE_API_KEY_MAX_DAYS away`, required }) as const;
const oldEndsOption = {
  type: 'string', value: '<date|time|now>', required: true,
  description: 'When the old secret stops working (both work until then): now, or a date or time at most DEPOTLINE_ROTATION_OVERLAP_MAX_DAYS away',
} as const;

const flags = { expiresAt: 'expires', oldEndsAt: 'old-ends' };
const oldEndsOf = (values: CliValues) => {
  const text = requiredString(values, 'old-ends').trim();
  return text === 'now' ? 'now' : parseExpiry(text, 'old-ends');
};
const nowOr = (at: number | 'now', now: number) => (at === 'now' ? now : at);
const storeNow = 'Store it now in the partner\u2019s secret store: it is not shown again, and the server keeps only its hash.';

const keyLine = (k: ApiKeyView) => [
  k.id, k.status, k.name, k.scopes.join(','), `expires ${isoTime(k.expiresAt)}`, k.endsAt === null ? null : `ends ${isoTime(k.endsAt)}`,
  `last used ${k.lastUsedAt === null ? 'never' : `${isoTime(k.lastUsedAt)} from ${k.lastUsedIp ?? '?'}`}`,
].filter((x) => x !== null).join('\t');
const clientLine = (c: OAuthClientView) => [
  c.id, c.status, c.name, c.scopes.join(','), `expires ${isoTime(c.expiresAt)}`,
  c.previousSecretEndsAt === null ? null : `previous secret ends ${isoTime(c.previousSecretEndsAt)}`,
  `last used ${c.lastUsedAt === null ? 'never' : `${isoTime(c.lastUsedAt)} from ${c.lastUsedIp ?? '?'}`}`,
].filter((x) => x !== null).join('\t');

const createOptions = {
  integration: integrationOption,
  name: { type: 'string', value: '<label>', description: 'What the credential is for (shown in lists)', required: true },
  scopes: { type: 'string', value: '<scope,scope,...>', description: 'Machine permissions, each held by the integration (orders.write, orders.read, status.read, pod.read)', required: true },
  expires: expiresOption(true, 'When it stops working'),
} as const;

function parseCreate(values: CliValues) {
  return parseCliInput(CredentialCreate, {
    name: requiredString(values, 'name'), scopes: commaList(requiredString(values, 'scopes')), expiresAt: parseExpiry(requiredString(values, 'expires')),
  }, flags);
}

const keyCreate: CliCommand = {
  group: 'integration',
  name: 'key create',
  summary: 'Make an API key for an integration (printed once)',
  options: createOptions,
  notes: ['Example: depotline-admin integration key create --integration acme-shop --name "order sync" --scopes orders.write,status.read --expires 2027-06-30'],
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const input = parseCreate(values);
    return async (ctx) => {
      const integrationId = await integrationIdOf(ctx, nameOrId);
      const made = await ctx.db.transaction().execute((trx) => applyApiKeyCreate(trx, ctx.config, operator(), integrationId, input, ctx.now()));
      return { json: made, text: `${keyLine(made.key)}\n\nAPI key: ${made.secret}\n${storeNow}` };
    };
  },
};

const keyList: CliCommand = {
  group: 'integration',
  name: 'key list',
  summary: 'List an integration\u2019s API keys (never their secrets)',
  options: { integration: integrationOption },
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    return async (ctx) => {
      const keys = await listApiKeys(ctx.db, operator(), await integrationIdOf(ctx, nameOrId), ctx.now());
      return { json: { keys }, text: keys.length === 0 ? 'No API keys.' : keys.map(keyLine).join('\n') };
    };
  },
};

const keyRotate: CliCommand = {
  group: 'integration',
  name: 'key rotate',
  summary: 'Make a new API key with the same scopes; the old one works until --old-ends',
  options: {
    integration: integrationOption,
    key: { type: 'string', value: '<dlk_...>', description: 'The key to rotate (its id, from key list)', required: true },
    'old-ends': oldEndsOption,
    expires: expiresOption(false, 'When the new key stops working (default: the old key\u2019s expiry)'),
  },
  notes: ['Example: depotline-admin integration key rotate --integration acme-shop --key dlk_3fGh... --old-ends 2026-12-14'],
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const keyId = requiredString(values, 'key').trim();
    const oldEnds = oldEndsOf(values);
    const expiresText = optionalString(values, 'expires');
    const expiresAt = expiresText === undefined ? undefined : parseExpiry(expiresText);
    return async (ctx) => {
      const now = ctx.now();
      const input = parseCliInput(CredentialRotate, { oldEndsAt: nowOr(oldEnds, now), ...(expiresAt === undefined ? {} : { expiresAt }) }, flags);
      const integrationId = await integrationIdOf(ctx, nameOrId);
      const made = await ctx.db.transaction().execute((trx) => applyApiKeyRotate(trx, ctx.config, operator(), integrationId, keyId, input, now));
      return {
        json: made,
        text: `old: ${keyLine(made.previous)}\nnew: ${keyLine(made.key)}\n\nNew API key: ${made.secret}\n${storeNow}`,
      };
    };
  },
};

const keyRevoke: CliCommand = {
  group: 'integration',
  name: 'key revoke',
  summary: 'Revoke an API key at once',
  options: { integration: integrationOption, key: { type: 'string', value: '<dlk_...>', description: 'The key to revoke', required: true } },
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const keyId = requiredString(values, 'key').trim();
    return async (ctx) => {
      const integrationId = await integrationIdOf(ctx, nameOrId);
      const key = await ctx.db.transaction().execute((trx) => applyApiKeyRevoke(trx, operator(), integrationId, keyId, ctx.now()));
      return { json: { key }, text: keyLine(key) };
    };
  },
};

const clientCreate: CliCommand = {
  group: 'integration',
  name: 'oauth-client create',
  summary: 'Make an OAuth 2.0 client (client credentials) for an integration (its secret printed once)',
  options: createOptions,
  notes: ['Example: depotline-admin integration oauth-client create --integration acme-courier --name tracking --scopes status.read --expires 2027-06-30'],
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const input = parseCreate(values);
    return async (ctx) => {
      const integrationId = await integrationIdOf(ctx, nameOrId);
      const made = await ctx.db.transaction().execute((trx) => applyOAuthClientCreate(trx, ctx.config, operator(), integrationId, input, ctx.now()));
      return { json: made, text: `${clientLine(made.client)}\n\nclient_id: ${made.client.id}\nclient_secret: ${made.clientSecret}\n${storeNow}` };
    };
  },
};

const clientList: CliCommand = {
  group: 'integration',
  name: 'oauth-client list',
  summary: 'List an integration\u2019s OAuth clients (never their secrets)',
  options: { integration: integrationOption },
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    return async (ctx) => {
      const clients = await listOAuthClients(ctx.db, operator(), await integrationIdOf(ctx, nameOrId), ctx.now());
      return { json: { clients }, text: clients.length === 0 ? 'No OAuth clients.' : clients.map(clientLine).join('\n') };
    };
  },
};

const clientRotate: CliCommand = {
  group: 'integration',
  name: 'oauth-client rotate',
  summary: 'Give an OAuth client a new secret; the old one works until --old-ends',
  options: {
    integration: integrationOption,
    client: { type: 'string', value: '<dlc_...>', description: 'The client id', required: true },
    'old-ends': oldEndsOption,
    expires: expiresOption(false, 'When the new secret stops working (default: the current one\u2019s expiry)'),
  },
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const clientId = requiredString(values, 'client').trim();
    const oldEnds = oldEndsOf(values);
    const expiresText = optionalString(values, 'expires');
    const expiresAt = expiresText === undefined ? undefined : parseExpiry(expiresText);
    return async (ctx) => {
      const now = ctx.now();
      const input = parseCliInput(CredentialRotate, { oldEndsAt: nowOr(oldEnds, now), ...(expiresAt === undefined ? {} : { expiresAt }) }, flags);
      const integrationId = await integrationIdOf(ctx, nameOrId);
      const made = await ctx.db.transaction().execute((trx) => applyOAuthClientRotate(trx, ctx.config, operator(), integrationId, clientId, input, now));
      return { json: made, text: `${clientLine(made.client)}\n\nNew client_secret: ${made.clientSecret}\n${storeNow}` };
    };
  },
};

const clientRevoke: CliCommand = {
  group: 'integration',
  name: 'oauth-client revoke',
  summary: 'Revoke an OAuth client at once, and every access token it holds',
  options: { integration: integrationOption, client: { type: 'string', value: '<dlc_...>', description: 'The client id', required: true } },
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const clientId = requiredString(values, 'client').trim();
    return async (ctx) => {
      const integrationId = await integrationIdOf(ctx, nameOrId);
      const client = await ctx.db.transaction().execute((trx) => applyOAuthClientRevoke(trx, operator(), integrationId, clientId, ctx.now()));
      return { json: { client }, text: clientLine(client) };
    };
  },
};

export const integrationCredentialCommands: readonly CliCommand[] = [
  keyCreate, keyList, keyRotate, keyRevoke, clientCreate, clientList, clientRotate, clientRevoke,
];
