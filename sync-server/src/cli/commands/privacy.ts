import { ConsentRecordInput, consentPurposes, consentSources, type CustomerSearchResult, CustomerSearch, SharingInput } from '@depotline/shared';
import { recordConsent, setDoNotSell } from '../../privacy/consents';
import { reindexStops } from '../../privacy/reindex';
import { searchCustomer } from '../../privacy/search';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, commaList, fromStdin, isoTime, optionalString, parseCliInput, requiredString } from '../command';
import { asOperator, stdinJson } from './privacy-requests';

/**
 * `privacy search|consent|sharing|reindex` (docs/operations.md "Customer privacy"): the customer
 * lookups and choices from the server host, as the host's operator. The customer's phone and
 * email are read as JSON from stdin, never from the command line (`ps`, shell history).
 */

const identityNote = 'The customer comes as JSON on stdin: {"phone":"07700 900123"} or {"email":"ann@example.com"} or both.';

function searchText(r: CustomerSearchResult): string {
  if (r.stops.length === 0) return 'No stop of this customer was found.';
  const stops = r.stops.map((s) => `${s.stopId}  ${s.locationId}  ${s.status.padEnd(9)} ${isoTime(s.window.end)}  matched ${s.matched.join('+')}`);
  const consents = r.consents.map((c) => `consent ${c.locationId} ${c.purpose} ${c.granted ? 'granted' : 'withdrawn'} (${c.source}, ${isoTime(c.recordedAt)})`);
  const sharing = r.sharing.filter((f) => f.doNotSell).map((f) => `do not sell or share at ${f.locationId}`);
  return [...stops, ...consents, ...sharing, ...(r.truncated ? ['(more stops matched: narrow with --locations)'] : [])].join('\n');
}

const search: CliCommand = {
  group: 'privacy',
  name: 'search',
  summary: 'Find a customer\'s stops by phone or email (blind index), with their consents',
  options: { locations: { type: 'string', value: '<id,id>', description: 'Only these locations (default: all)' } },
  notes: [identityNote, 'Prints stop ids, locations and statuses; --json adds the decrypted name, address, phone and email.'],
  async prepare(values, io) {
    const locations = optionalString(values, 'locations');
    const body = parseCliInput(CustomerSearch, { customer: await stdinJson(io, 'the customer'), ...(locations ? { locationIds: commaList(locations) } : {}) }, { customer: fromStdin });
    return async (ctx) => {
      const result = await asOperator(ctx, (call) => searchCustomer(call, body), false);
      return { json: result, text: searchText(result) };
    };
  },
};

const consent: CliCommand = {
  group: 'privacy',
  name: 'consent',
  summary: 'Record a consent given or withdrawn for one purpose at a location',
  options: {
    location: { type: 'string', value: '<id>', description: 'The location', required: true },
    purpose: { type: 'string', value: `<${consentPurposes.join('|')}>`, description: 'What the consent is for', required: true },
    granted: { type: 'boolean', description: 'Given (default)' },
    withdrawn: { type: 'boolean', description: 'Withdrawn' },
    source: { type: 'string', value: `<${consentSources.join('|')}>`, description: 'How the customer told the depot', required: true },
  },
  notes: [identityNote],
  async prepare(values, io) {
    const body = parseCliInput(ConsentRecordInput, {
      customer: await stdinJson(io, 'the customer'), locationId: requiredString(values, 'location'), purpose: requiredString(values, 'purpose'),
      granted: values.withdrawn !== true, source: requiredString(values, 'source'),
    }, { customer: fromStdin });
    return async (ctx) => {
      const { consents } = await asOperator(ctx, async (call) => {
        const r = await recordConsent(ctx, call.db, body, call.actor.label, call.now);
        call.audit(r.audit);
        return r;
      });
      return { json: { consents }, text: `Consent ${body.granted ? 'given' : 'withdrawn'}: ${body.purpose} at ${body.locationId} (${consents.map((c) => c.matched).join(', ')}).` };
    };
  },
};

const sharing: CliCommand = {
  group: 'privacy',
  name: 'sharing',
  summary: 'Set a customer\'s do-not-sell-or-share choice at a location',
  options: {
    location: { type: 'string', value: '<id>', description: 'The location', required: true },
    'do-not-sell': { type: 'boolean', description: 'The customer opts out of sale and sharing' },
    allow: { type: 'boolean', description: 'The customer opts back in' },
  },
  notes: [identityNote],
  async prepare(values, io) {
    const body = parseCliInput(SharingInput, {
      customer: await stdinJson(io, 'the customer'), locationId: requiredString(values, 'location'), doNotSell: values.allow !== true,
    }, { customer: fromStdin });
    return async (ctx) => {
      const r = await asOperator(ctx, async (call) => {
        const out = await setDoNotSell(ctx, call.db, body, call.actor.label, call.now);
        call.audit(out.audit);
        return out;
      });
      return { json: { sharing: r.sharing }, text: body.doNotSell ? `Do not sell or share at ${body.locationId}.` : `Sharing allowed again at ${body.locationId}.` };
    };
  },
};

const reindex: CliCommand = {
  group: 'privacy',
  name: 'reindex',
  summary: 'Recompute the blind index of every stop (after changing the blind-index key or DEPOTLINE_PHONE_REGION)',
  options: { missing: { type: 'boolean', description: 'Only stops with a phone or email and no index (what the server does at start)' } },
  prepare(values) {
    return async (ctx) => {
      const { stops } = await reindexStops(ctx, { all: values.missing !== true, actor: operatorActor() });
      return { json: { stops }, text: `${stops} stop${stops === 1 ? '' : 's'} reindexed.` };
    };
  },
};

export const customerPrivacyCommands: readonly CliCommand[] = [search, consent, sharing, reindex];
