import {
  type LegalHold, LegalHoldCreate, LegalHoldReleaseChange, type LocationRetentionView, LocationRetentionUpdate, locationRetentionClasses,
  retentionDaysField,
} from '@depotline/shared';
import { badRequest, notFound } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { locationRetentionView, placeLegalHold, updateLocationRetention } from '../../retention/admin';
import { listLegalHolds, loadLegalHold, releaseLegalHold } from '../../retention/legal-holds';
import { type CliCommand, isoTime, optionalInteger, optionalString, parseCliInput, requiredString } from '../command';

/**
 * Retention periods and legal holds at the server host's command line (docs/operations.md,
 * "Retention and legal holds"). The operator there already holds the database and the keys, so,
 * as with `approval approve`, they are the trusted second person: a widening or a release they
 * make applies at once, audited as `cli:<OS user>`.
 */

const locationOption = { type: 'string', value: '<location id>', description: 'The location', required: true } as const;

/** `--contact-days` etc.: the flag of each period. */
const dayFlags = Object.fromEntries(locationRetentionClasses.map((c) => [retentionDaysField[c], `${c.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}-days`])) as Record<string, string>;

function retentionText(v: LocationRetentionView): string {
  return locationRetentionClasses.map((c) => {
    const f = retentionDaysField[c];
    const own = v.overrides[f] !== undefined ? 'set here' : 'server default';
    return `${c}\t${v.effective[f]} days\t(${own}; at most ${v.maxDays[f]})`;
  }).join('\n');
}

const retentionShow: CliCommand = {
  group: 'retention',
  name: 'show',
  summary: 'Show a location\u2019s retention periods: effective, set there or default, and the most allowed',
  options: { location: locationOption },
  prepare(values) {
    const locationId = requiredString(values, 'location').trim();
    return async (ctx) => {
      const retention = await locationRetentionView(ctx, locationId);
      return { json: { retention }, text: `Retention at ${locationId}:\n${retentionText(retention)}` };
    };
  },
};

const retentionSet: CliCommand = {
  group: 'retention',
  name: 'set',
  summary: 'Set retention periods of a location (days; at most the server\u2019s maximum)',
  fieldFlags: dayFlags,
  options: {
    location: locationOption,
    ...Object.fromEntries(locationRetentionClasses.map((c) => [dayFlags[retentionDaysField[c]]!, { type: 'string', value: '<days>', description: `Days ${c} data is kept` }])),
  },
  notes: ['A period longer than the current one applies at once here: the operator is trusted like an approver. It is audited as retention.set with the old and new periods.'],
  prepare(values) {
    const input: Record<string, unknown> = {};
    for (const c of locationRetentionClasses) {
      const f = retentionDaysField[c];
      const d = optionalInteger(values, dayFlags[f]!);
      if (d !== undefined) input[f] = d;
    }
    const update = parseCliInput(LocationRetentionUpdate, input, dayFlags);
    if (Object.keys(update).length === 0) throw badRequest([`name at least one period: ${Object.values(dayFlags).map((f) => `--${f}`).join(', ')}`]);
    const locationId = requiredString(values, 'location').trim();
    return async (ctx) => {
      const { retention } = await updateLocationRetention(ctx, operatorActor(), null, locationId, update);
      return { json: { retention }, text: `Retention at ${locationId} is now:\n${retentionText(retention)}` };
    };
  },
};

const holdLine = (h: LegalHold) =>
  `${h.id}\t${h.scope}${h.stopId ? ` ${h.stopId}` : ''}\t${h.releasedAt === null ? 'active' : `released ${isoTime(h.releasedAt)} by ${h.releasedBy ?? '?'}`}\towner: ${h.owner}\tplaced by ${h.placedBy} at ${isoTime(h.placedAt)}\t${h.reason}`;

const holdPlace: CliCommand = {
  group: 'hold',
  name: 'place',
  summary: 'Place a legal hold on a location, a stop or a customer (by phone or email): purge and erasure skip what it covers',
  options: {
    location: locationOption,
    stop: { type: 'string', value: '<stop id>', description: 'Hold one stop' },
    phone: { type: 'string', value: '<phone>', description: 'Hold every stop of the customer with this phone number' },
    email: { type: 'string', value: '<email>', description: 'Hold every stop of the customer with this email address' },
    reason: { type: 'string', value: '<text>', description: 'Why (a claim, an investigation)', required: true },
    owner: { type: 'string', value: '<who>', description: 'Who answers for the hold', required: true },
  },
  notes: ['Without --stop, --phone or --email the hold covers the whole location. Give at most one of them.'],
  prepare(values) {
    const stop = optionalString(values, 'stop');
    const phone = optionalString(values, 'phone');
    const email = optionalString(values, 'email');
    if ([stop, phone, email].filter((v) => v !== undefined).length > 1) throw badRequest(['give at most one of --stop, --phone, --email']);
    const common = { reason: requiredString(values, 'reason'), owner: requiredString(values, 'owner') };
    const body = parseCliInput(LegalHoldCreate, stop !== undefined ? { scope: 'stop', stopId: stop, ...common }
      : phone !== undefined || email !== undefined ? { scope: 'customer', ...(phone !== undefined ? { phone } : { email }), ...common }
        : { scope: 'location', ...common }, { stopId: 'stop' });
    const locationId = requiredString(values, 'location').trim();
    return async (ctx) => {
      const hold = await placeLegalHold(ctx, operatorActor(), locationId, body);
      return { json: { hold }, text: `Placed legal hold ${hold.id} (${hold.scope}) at ${locationId}.` };
    };
  },
};

const holdRelease: CliCommand = {
  group: 'hold',
  name: 'release',
  summary: 'Release a legal hold (the operator is the trusted second person; audited)',
  options: {
    id: { type: 'string', value: '<hold id>', description: 'From hold list', required: true },
    reason: { type: 'string', value: '<text>', description: 'Why it may end now', required: true },
  },
  prepare(values) {
    const change = parseCliInput(LegalHoldReleaseChange, { holdId: requiredString(values, 'id').trim(), reason: requiredString(values, 'reason') }, { holdId: 'id' });
    return async (ctx) => {
      if (!(await loadLegalHold(ctx.db, change.holdId))) throw notFound('The legal hold');
      const released = await ctx.db.transaction().execute((trx) => releaseLegalHold(trx, operatorActor(), change, ctx.now(), null));
      if (!released) throw badRequest([`--id: the legal hold ${change.holdId} was released already`]);
      return { json: { holdId: change.holdId, released }, text: `Released legal hold ${change.holdId}.` };
    };
  },
};

const holdList: CliCommand = {
  group: 'hold',
  name: 'list',
  summary: 'List the legal holds of a location (newest first)',
  options: {
    location: locationOption,
    active: { type: 'boolean', description: 'Only holds not released' },
  },
  prepare(values) {
    const locationId = requiredString(values, 'location').trim();
    return async (ctx) => {
      const holds = await listLegalHolds(ctx.db, locationId, values.active === true);
      return { json: { holds }, text: holds.length === 0 ? `No ${values.active === true ? 'active ' : ''}legal holds at ${locationId}.` : holds.map(holdLine).join('\n') };
    };
  },
};

export const retentionCommands = [retentionShow, retentionSet, holdPlace, holdRelease, holdList];
