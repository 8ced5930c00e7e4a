import fs from 'node:fs';
import path from 'node:path';
import {
  EntityId, type PrivacyRequest, PrivacyCloseBody, PrivacyEraseBody, PrivacyRectifyBody, PrivacyRequestCreate, PrivacyRequestListQuery, PrivacySubject,
} from '@depotline/shared';
import { appendAuditEntries, type AuditEvent } from '../../audit/audit-log';
import type { ServerContext } from '../../context';
import { badRequest } from '../../errors';
import { buildAccessExport } from '../../privacy/access-export';
import { erasePrivacyRequest } from '../../privacy/request-erasure';
import { rectifyPrivacyRequest } from '../../privacy/request-rectification';
import { closePrivacyRequest, createPrivacyRequest, getPrivacyRequest, listPrivacyRequests, type PrivacyCall } from '../../privacy/requests';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, type CliIo, commaList, fromStdin, isoTime, optionalString, parseCliInput, readStdin, requiredString } from '../command';

/**
 * `privacy requests|request-add|request-show|export|erase|rectify|close` (docs/operations.md "Data
 * subject requests"): the register from the server host, as the host's operator (every location).
 * The customer's identifiers and corrected values are read as JSON from stdin, never from the
 * command line, where `ps` and the shell history would keep them. An erasure made here reaches
 * desktops on their next pull (a running server's live feed is not told).
 */

/** Runs `work` as the operator in one transaction; audit entries it records commit with it. */
export async function asOperator<R>(ctx: ServerContext, work: (call: PrivacyCall) => Promise<R>, transaction = true): Promise<R> {
  const actor = operatorActor();
  const pending: AuditEvent[] = [];
  const base = { ctx, actor, now: ctx.now(), audit: (e: AuditEvent) => void pending.push(e), manages: null };
  try {
    if (!transaction) return await work({ ...base, db: ctx.db });
    return await ctx.db.transaction().execute(async (trx) => {
      const r = await work({ ...base, db: trx });
      await appendAuditEntries(trx, pending.splice(0).map((event) => ({ actor, event })), ctx.now());
      return r;
    });
  } finally {
    if (pending.length > 0) await ctx.db.transaction().execute((trx) => appendAuditEntries(trx, pending.map((event) => ({ actor, event })), ctx.now()));
  }
}

export async function stdinJson(io: CliIo, what: string): Promise<unknown> {
  const text = await readStdin(io.stdin);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest([`stdin: ${what} as JSON, e.g. {"phone":"+44 7700 900123","email":"ann@example.com"}`]);
  }
}

const requestId = (values: Readonly<Record<string, string | boolean | undefined>>) => {
  const id = EntityId.safeParse(requiredString(values, 'id'));
  if (!id.success) throw badRequest(['--id: not a request id']);
  return id.data;
};

const line = (r: PrivacyRequest) =>
  `${r.id}  ${r.kind.padEnd(13)} ${r.law.padEnd(4)} ${r.status.padEnd(6)} due ${isoTime(r.dueAt)}${r.overdue ? '  OVERDUE' : ''}  ${r.locationIds.join(',')}`;

const list: CliCommand = {
  group: 'privacy',
  name: 'requests',
  summary: 'List data subject requests, oldest deadline first',
  options: {
    status: { type: 'string', value: '<open|closed>', description: 'Only requests in this state' },
    overdue: { type: 'boolean', description: 'Only open requests past their deadline' },
  },
  prepare(values) {
    const query = parseCliInput(PrivacyRequestListQuery, {
      ...(optionalString(values, 'status') ? { status: optionalString(values, 'status') } : {}),
      ...(values.overdue === true ? { overdue: 'true' } : {}),
    });
    return async (ctx) => {
      const requests = await asOperator(ctx, (call) => listPrivacyRequests(call, query), false);
      return { json: { requests }, text: requests.length === 0 ? 'No privacy requests.' : requests.map(line).join('\n') };
    };
  },
};

const add: CliCommand = {
  group: 'privacy',
  name: 'request-add',
  summary: 'Register a data subject request; the customer\'s phone/email/name as JSON on stdin',
  options: {
    kind: { type: 'string', value: '<access|erasure|rectification|consent|objection>', description: 'What the customer asks for', required: true },
    law: { type: 'string', value: '<gdpr|ccpa>', description: 'Under which law (the deadline: one month or 45 days)', required: true },
    locations: { type: 'string', value: '<id,id>', description: 'The locations the request covers', required: true },
    received: { type: 'string', value: '<ISO time>', description: 'When it was received (default now)' },
    reference: { type: 'string', value: '<text>', description: 'Your own reference (a ticket number; no personal data)' },
  },
  notes: ['Example: echo \'{"phone":"+44 7700 900123"}\' | depotline-admin privacy request-add --kind erasure --law gdpr --locations depot-north'],
  async prepare(values, io) {
    const received = optionalString(values, 'received');
    const receivedAt = received === undefined ? undefined : Date.parse(received);
    if (receivedAt !== undefined && Number.isNaN(receivedAt)) throw badRequest(['--received: not a time (use 2026-11-30T09:00:00Z)']);
    const subject = parseCliInput(PrivacySubject, (await stdinJson(io, 'the customer')) as Record<string, unknown>, { '*': fromStdin });
    const input = parseCliInput(PrivacyRequestCreate, {
      kind: requiredString(values, 'kind'), law: requiredString(values, 'law'), locationIds: commaList(requiredString(values, 'locations')),
      subject, ...(receivedAt !== undefined ? { receivedAt } : {}), ...(optionalString(values, 'reference') ? { reference: optionalString(values, 'reference') } : {}),
    }, { locationIds: 'locations', receivedAt: 'received' });
    return async (ctx) => {
      const r = await asOperator(ctx, (call) => createPrivacyRequest(call, input));
      return { json: r, text: `Registered ${r.id}: ${r.kind} under ${r.law.toUpperCase()}, due ${isoTime(r.dueAt)}.` };
    };
  },
};

const show: CliCommand = {
  group: 'privacy',
  name: 'request-show',
  summary: 'Show one data subject request with its steps',
  options: { id: { type: 'string', value: '<request id>', description: 'The request', required: true } },
  prepare(values) {
    const id = requestId(values);
    return async (ctx) => {
      const r = await asOperator(ctx, (call) => getPrivacyRequest(call, id), false);
      const steps = r.actions.map((a) => `  ${isoTime(a.at)}  ${a.action.padEnd(12)} ${a.by}${a.counts ? `  ${JSON.stringify(a.counts)}` : ''}`);
      return { json: r, text: [line(r), r.subject ? '  customer on file' : `  customer erased ${isoTime(r.subjectErasedAt)}`, ...steps].join('\n') };
    };
  },
};

const exportZip: CliCommand = {
  group: 'privacy',
  name: 'export',
  summary: 'Write the customer\'s data of an access request as a ZIP (JSON, CSV, proof files)',
  options: {
    id: { type: 'string', value: '<request id>', description: 'The access request', required: true },
    out: { type: 'string', value: '<file>', description: 'Write to this new file (mode 0600); an existing file is never overwritten', required: true },
  },
  notes: ['The ZIP holds the customer\'s data in clear: hand it to the customer and keep no copy.'],
  prepare(values) {
    const id = requestId(values);
    const out = path.resolve(requiredString(values, 'out'));
    if (fs.existsSync(out)) throw badRequest([`--out: ${out} already exists; choose a new file name`]);
    return async (ctx) => {
      let fd: number | null = null;
      const built = await asOperator(ctx, async (call) => {
        const file = await buildAccessExport(call, id);
        try {
          fd = fs.openSync(out, 'wx', 0o600);
        } catch (err) {
          throw badRequest([`--out: cannot create ${out} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
        }
        return file;
      });
      try {
        fs.writeFileSync(fd!, built.zip);
      } finally {
        fs.closeSync(fd!);
      }
      return { json: { file: out, stops: built.stopCount, proofs: built.proofCount }, text: `Wrote ${built.stopCount} stops and ${built.proofCount} proofs to ${out}` };
    };
  },
};

const erase: CliCommand = {
  group: 'privacy',
  name: 'erase',
  summary: 'Erase the customer of an erasure request (stops not under a legal hold, proofs, links, queued webhooks)',
  options: {
    id: { type: 'string', value: '<request id>', description: 'The erasure request', required: true },
    delete: { type: 'boolean', description: 'Delete the stops instead of pseudonymising them' },
  },
  prepare(values) {
    const id = requestId(values);
    const body = parseCliInput(PrivacyEraseBody, { mode: values.delete === true ? 'delete' : 'pseudonymise' });
    return async (ctx) => {
      const { result } = await asOperator(ctx, (call) => erasePrivacyRequest(call, id, body), false);
      const holds = result.held.holds.map((h) => `  kept by hold ${h.holdId} (${h.scope} at ${h.locationId}, owner ${h.owner}): ${h.reason}`);
      return { json: result, text: [result.summary, ...holds].join('\n') };
    };
  },
};

const rectify: CliCommand = {
  group: 'privacy',
  name: 'rectify',
  summary: 'Correct the customer of a rectification request on every stop; corrected values as JSON on stdin',
  options: { id: { type: 'string', value: '<request id>', description: 'The rectification request', required: true } },
  notes: ['Example: echo \'{"address":"1 New Street, Leeds"}\' | depotline-admin privacy rectify --id dsr_...'],
  async prepare(values, io) {
    const id = requestId(values);
    const body = parseCliInput(PrivacyRectifyBody, (await stdinJson(io, 'the corrected values')) as Record<string, unknown>, { '*': fromStdin });
    return async (ctx) => {
      const { result } = await asOperator(ctx, (call) => rectifyPrivacyRequest(call, id, body), false);
      return { json: result, text: result.summary };
    };
  },
};

const close: CliCommand = {
  group: 'privacy',
  name: 'close',
  summary: 'Close a data subject request with the reason',
  options: {
    id: { type: 'string', value: '<request id>', description: 'The request', required: true },
    reason: { type: 'string', value: '<completed|refused|withdrawn|identityNotVerified|duplicate>', description: 'Why it is closed', required: true },
  },
  prepare(values) {
    const id = requestId(values);
    const { reason } = parseCliInput(PrivacyCloseBody, { reason: requiredString(values, 'reason') });
    return async (ctx) => {
      const r = await asOperator(ctx, (call) => closePrivacyRequest(call, id, reason));
      return { json: r, text: `Closed ${r.id} (${reason}).` };
    };
  },
};

export const privacyRequestCommands: readonly CliCommand[] = [list, add, show, exportZip, erase, rectify, close];
