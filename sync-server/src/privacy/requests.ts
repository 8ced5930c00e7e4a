import crypto from 'node:crypto';
import {
  type PrivacyCloseReason, type PrivacyRequest, type PrivacyRequestAction, type PrivacyRequestCreate, type PrivacyRequestListQuery,
  privacyDueAt, type PrivacySubject,
} from '@depotline/shared';
import { checkPermission } from '../access/authorize';
import type { Caller } from '../access/caller';
import { appendAuditEntries, type AuditActor, type AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { fieldAad } from '../crypto/field-cipher';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { badRequest, conflict, forbidden, notFound } from '../errors';
import { normaliseEmail, normalisePhone } from './blind-index';

/**
 * The register of data subject requests (docs/security-model.md "Data subject requests"): who
 * asked for what, under which law, by when it must be answered, and what was done. The customer a
 * request is about is kept field-encrypted (`subject_enc`) only while the request needs it: a
 * completed erasure sets it to null, in its own request and the customer's other requests at the
 * same locations, so the register keeps no erased data. Steps (`actions`) hold counts,
 * never values. Everything here needs `privacy.manage` at every location the request covers; a
 * request that names a location the caller does not manage is answered as not found.
 */

export type PrivacyRequestRow = Database['privacy_requests'];

/** The caller of a register operation: an admin over REST, or the host's command line. */
export interface PrivacyCall {
  ctx: ServerContext;
  db: Db;
  actor: AuditActor;
  now: number;
  audit: (e: AuditEvent) => void;
  /** Whether the caller holds privacy.manage at a location; null: the host's command line (every location). */
  manages: ((locationId: string) => boolean) | null;
}

/** `manages` of a signed-in caller: privacy.manage at the location, as the one authorizer decides. */
export function managesFor(caller: Caller, now: number): (locationId: string) => boolean {
  return (locationId) => checkPermission(caller.profile, { permission: 'privacy.manage', locationId }, now) !== null;
}

export interface StoredSubject {
  customerName: string | null;
  phone: string | null;
  email: string | null;
}

const subjectAad = (id: string) => fieldAad('privacy_requests', 'subject', id);

export function readSubject(ctx: ServerContext, row: Pick<PrivacyRequestRow, 'id' | 'subject_enc'>): StoredSubject | null {
  if (row.subject_enc === null) return null;
  return JSON.parse(ctx.cipher.decrypt(row.subject_enc, subjectAad(row.id))) as StoredSubject;
}

/** The lookup of the customer's stops (`findCustomerStops`): the identifiers a request holds. */
export function subjectLookup(subject: StoredSubject): { phone?: string; email?: string } {
  return { ...(subject.phone !== null ? { phone: subject.phone } : {}), ...(subject.email !== null ? { email: subject.email } : {}) };
}

export const locationIdsOf = (row: Pick<PrivacyRequestRow, 'location_ids'>): string[] => JSON.parse(row.location_ids) as string[];
export const actionsOf = (row: Pick<PrivacyRequestRow, 'actions'>): PrivacyRequestAction[] => JSON.parse(row.actions) as PrivacyRequestAction[];

export function presentPrivacyRequest(ctx: ServerContext, row: PrivacyRequestRow, now: number): PrivacyRequest {
  const subject = readSubject(ctx, row);
  return {
    id: row.id,
    kind: row.kind as PrivacyRequest['kind'],
    law: row.law as PrivacyRequest['law'],
    locationIds: locationIdsOf(row),
    status: row.status as PrivacyRequest['status'],
    receivedAt: Number(row.received_at),
    dueAt: Number(row.due_at),
    overdue: row.status === 'open' && now > Number(row.due_at),
    reference: row.reference,
    subject,
    subjectErasedAt: row.subject_erased_at === null ? null : Number(row.subject_erased_at),
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    handledBy: row.handled_by,
    updatedAt: Number(row.updated_at),
    closedAt: row.closed_at === null ? null : Number(row.closed_at),
    closeReason: row.close_reason as PrivacyCloseReason | null,
    actions: actionsOf(row),
  };
}

/** A request received further back than this is a typing error, not a request. */
const maxBackdatingMs = 366 * 86_400_000;

/** Registers a request as received; audited without the customer's identifiers. */
export async function createPrivacyRequest(call: PrivacyCall, input: PrivacyRequestCreate): Promise<PrivacyRequest> {
  const { ctx, db, actor, now } = call;
  const refused = call.manages ? input.locationIds.filter((id) => !call.manages!(id)) : [];
  if (refused.length > 0) {
    for (const locationId of refused) {
      call.audit({ action: 'privacy.request.create', outcome: 'denied', targetType: 'location', targetId: locationId, locationId, details: { permission: 'privacy.manage' } });
    }
    throw forbidden();
  }
  const known = await db.selectFrom('locations').select('id').where('id', 'in', input.locationIds).execute();
  const unknown = input.locationIds.filter((id) => !known.some((k) => k.id === id));
  if (unknown.length > 0) throw badRequest([`locationIds: no such location: ${unknown.join(', ')}`]);
  const receivedAt = input.receivedAt ?? now;
  if (receivedAt > now + 60_000) throw badRequest(['receivedAt: a request cannot be received in the future']);
  if (receivedAt < now - maxBackdatingMs) throw badRequest(['receivedAt: more than a year ago; check the date']);
  const id = `dsr_${crypto.randomBytes(12).toString('hex')}`;
  const subject: StoredSubject = { customerName: input.subject.customerName ?? null, phone: input.subject.phone ?? null, email: input.subject.email ?? null };
  const actions: PrivacyRequestAction[] = [{ action: 'received', at: now, by: actor.label }];
  const row: PrivacyRequestRow = {
    id, kind: input.kind, law: input.law, location_ids: JSON.stringify(input.locationIds), status: 'open',
    received_at: receivedAt, due_at: privacyDueAt(input.law, receivedAt), reference: input.reference ?? null,
    subject_enc: ctx.cipher.encrypt(JSON.stringify(subject), subjectAad(id)), subject_erased_at: null,
    created_by: actor.label, created_at: now, handled_by: null, updated_at: now, closed_at: null, close_reason: null,
    actions: JSON.stringify(actions),
  };
  await db.insertInto('privacy_requests').values(row).execute();
  await auditRequestStep(call, row, 'privacy.request.create', { law: input.law, dueAt: row.due_at, identifiers: identifierKinds(input.subject) });
  return presentPrivacyRequest(ctx, row, now);
}

/** Which identifiers a subject has, for audit details (never their values). */
export const identifierKinds = (s: PrivacySubject | StoredSubject): string[] =>
  (['customerName', 'phone', 'email'] as const).filter((k) => s[k] !== undefined && s[k] !== null);

/**
 * The request, if the caller manages every location it covers. Otherwise, or when there is no such
 * request, the same `not_found` (a refusal audited as denied), so ids cannot be probed.
 */
export async function loadPrivacyRequest(call: PrivacyCall, id: string, action: string): Promise<PrivacyRequestRow> {
  const row = await call.db.selectFrom('privacy_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (row && (!call.manages || locationIdsOf(row).every((l) => call.manages!(l)))) return row;
  call.audit({ action, outcome: 'denied', targetType: 'privacy_request', targetId: id.slice(0, 64), details: { permission: 'privacy.manage' } });
  throw notFound('The privacy request');
}

/** An open request of the given kinds, else a clear 409. */
export function requireOpen(row: PrivacyRequestRow, kinds: readonly string[], what: string): void {
  if (row.status !== 'open') throw conflict(`The privacy request is closed (${row.close_reason ?? 'closed'}); ${what} needs an open request.`);
  if (!kinds.includes(row.kind)) throw conflict(`This is a${/^[ae]/.test(row.kind) ? 'n' : ''} ${row.kind} request; ${what} is for ${kinds.join(' or ')} requests.`);
}

export function requireSubject(ctx: ServerContext, row: PrivacyRequestRow): StoredSubject {
  const subject = readSubject(ctx, row);
  if (!subject) throw conflict('The customer\'s data was erased under this request; the request no longer says who the customer was.');
  return subject;
}

export interface RequestUpdate {
  action: PrivacyRequestAction;
  /** Close the request with this reason. */
  close?: PrivacyCloseReason;
  /** Forget the customer: the request keeps no identifier of them. */
  eraseSubject?: boolean;
  /** The customer's corrected identifiers (after a rectification). */
  subject?: StoredSubject;
}

/** Records a step on the request (and closes or forgets) in the caller's transaction. */
export async function updatePrivacyRequest(call: PrivacyCall, row: PrivacyRequestRow, update: RequestUpdate): Promise<PrivacyRequestRow> {
  const next: PrivacyRequestRow = {
    ...row,
    actions: JSON.stringify([...actionsOf(row), update.action]),
    handled_by: call.actor.label,
    updated_at: call.now,
    ...(update.close ? { status: 'closed', closed_at: call.now, close_reason: update.close } : {}),
    ...(update.subject ? { subject_enc: call.ctx.cipher.encrypt(JSON.stringify(update.subject), subjectAad(row.id)) } : {}),
    ...(update.eraseSubject ? { subject_enc: null, subject_erased_at: call.now } : {}),
  };
  await call.db.updateTable('privacy_requests').set({
    actions: next.actions, handled_by: next.handled_by, updated_at: next.updated_at, status: next.status, closed_at: next.closed_at,
    close_reason: next.close_reason, subject_enc: next.subject_enc, subject_erased_at: next.subject_erased_at,
  }).where('id', '=', row.id).execute();
  return next;
}

/**
 * Audits one step of a request once per location it covers, so each depot's log shows it, in the
 * caller's transaction (`call.db`).
 */
export async function auditRequestStep(call: PrivacyCall, row: PrivacyRequestRow, action: string, details: Record<string, unknown>): Promise<void> {
  await appendAuditEntries(call.db, locationIdsOf(row).map((locationId) => ({
    actor: call.actor,
    event: { action, outcome: 'ok', targetType: 'privacy_request', targetId: row.id, locationId, details: { kind: row.kind, ...details } },
  })), call.now);
}

/**
 * A completed erasure forgets the customer in their other requests too: every request whose subject
 * has the same phone or email (normalised, as the blind index is computed) and whose locations the
 * erasure covered. Kind, law, dates, steps and counts stay; the subject is set to null. A request
 * that also covers other locations keeps it (the customer's data there was not erased). Audited per
 * request and location, without identifiers. Returns how many requests forgot the customer.
 */
export async function forgetCustomerInRequests(call: PrivacyCall, erasure: PrivacyRequestRow, subject: StoredSubject): Promise<number> {
  const { ctx } = call;
  const region = ctx.config.privacy.phoneRegion;
  const phone = subject.phone !== null ? normalisePhone(subject.phone, region) : null;
  const email = subject.email !== null ? normaliseEmail(subject.email) : null;
  if (phone === null && email === null) return 0;
  const covered = new Set(locationIdsOf(erasure));
  const rows = await call.db.selectFrom('privacy_requests').selectAll().where('subject_enc', 'is not', null).where('id', '!=', erasure.id).execute();
  const same = rows.filter((r) => {
    if (!locationIdsOf(r).every((l) => covered.has(l))) return false;
    const s = readSubject(ctx, r);
    return s !== null && ((phone !== null && s.phone !== null && normalisePhone(s.phone, region) === phone)
      || (email !== null && s.email !== null && normaliseEmail(s.email) === email));
  });
  for (const r of same) {
    await call.db.updateTable('privacy_requests').set({ subject_enc: null, subject_erased_at: call.now, updated_at: call.now }).where('id', '=', r.id).execute();
    await auditRequestStep(call, r, 'privacy.request.forget', { byRequest: erasure.id });
  }
  return same.length;
}

export async function getPrivacyRequest(call: PrivacyCall, id: string): Promise<PrivacyRequest> {
  const row = await loadPrivacyRequest(call, id, 'privacy.request.view');
  return presentPrivacyRequest(call.ctx, row, call.now);
}

/** The requests the caller manages every location of, oldest deadline first. */
export async function listPrivacyRequests(call: PrivacyCall, query: PrivacyRequestListQuery): Promise<PrivacyRequest[]> {
  let q = call.db.selectFrom('privacy_requests').selectAll().orderBy('due_at').orderBy('id');
  if (query.status) q = q.where('status', '=', query.status);
  if (query.overdue === true) q = q.where('status', '=', 'open').where('due_at', '<', call.now);
  if (query.overdue === false) q = q.where((eb) => eb.or([eb('status', '!=', 'open'), eb('due_at', '>=', call.now)]));
  const out: PrivacyRequest[] = [];
  // Paged so a register with many requests at other depots still fills the answer.
  for (let offset = 0; out.length < query.limit; offset += 500) {
    const rows = await q.limit(500).offset(offset).execute();
    for (const row of rows) {
      if (out.length >= query.limit) break;
      if (!call.manages || locationIdsOf(row).every((l) => call.manages!(l))) out.push(presentPrivacyRequest(call.ctx, row, call.now));
    }
    if (rows.length < 500) break;
  }
  return out;
}

/** `POST /privacy/requests/:id/close`. */
export async function closePrivacyRequest(call: PrivacyCall, id: string, reason: PrivacyCloseReason): Promise<PrivacyRequest> {
  const row = await loadPrivacyRequest(call, id, 'privacy.request.close');
  if (row.status !== 'open') throw conflict(`The privacy request is closed already (${row.close_reason ?? 'closed'}).`);
  // An erasure answered as completed (nothing found, say) keeps no identifier of the customer either.
  const forget = row.kind === 'erasure' && reason === 'completed';
  const subject = forget ? readSubject(call.ctx, row) : null;
  const next = await updatePrivacyRequest(call, row, { action: { action: 'close', at: call.now, by: call.actor.label }, close: reason, ...(forget ? { eraseSubject: true } : {}) });
  if (subject) await forgetCustomerInRequests(call, row, subject);
  await auditRequestStep(call, row, 'privacy.request.close', { reason, overdue: call.now > Number(row.due_at) });
  return presentPrivacyRequest(call.ctx, next, call.now);
}
