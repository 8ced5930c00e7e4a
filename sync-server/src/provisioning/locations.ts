import { EntityId } from '@depotline/shared';
import { z } from 'zod';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { conflict, notFound, parseInput } from '../errors';
import { isUniqueViolation } from './operator';

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** An IANA zone name: routes are dated, and time windows shown, in the depot's own zone. */
export const TimeZoneName = z.string().min(1).max(64).refine(isTimeZone, 'use an IANA time zone name such as Europe/Berlin');

export const LocationCreateInput = z.object({
  id: EntityId,
  name: z.string().trim().min(1).max(200),
  timezone: TimeZoneName,
});
export type LocationCreateInput = z.input<typeof LocationCreateInput>;

export interface CreatedLocation {
  id: string;
  name: string;
  timezone: string;
  createdAt: number;
}

/** Creates a location (a depot) inside the caller's transaction. */
export async function createLocationIn(trx: Db, actor: AuditActor, input: LocationCreateInput, now: number): Promise<CreatedLocation> {
  const loc = parseInput(LocationCreateInput, input);
  const taken = await trx.selectFrom('locations').select('id').where('id', '=', loc.id).executeTakeFirst();
  if (taken) throw conflict(`A location with id ${loc.id} already exists.`);
  await trx.insertInto('locations').values({ id: loc.id, name: loc.name, timezone: loc.timezone, version: 0, created_at: now }).execute();
  await appendAudit(trx, actor, {
    action: 'location.create', outcome: 'ok', targetType: 'location', targetId: loc.id, locationId: loc.id,
    details: { name: loc.name, timezone: loc.timezone },
  }, now);
  return { ...loc, createdAt: now };
}

export async function createLocation(ctx: ServerContext, actor: AuditActor, input: LocationCreateInput): Promise<CreatedLocation> {
  // Parsed before the transaction too, so bad input never opens one.
  const loc = parseInput(LocationCreateInput, input);
  try {
    return await ctx.db.transaction().execute((trx) => createLocationIn(trx, actor, loc, ctx.now()));
  } catch (err) {
    // A concurrent create of the same id got there first.
    if (isUniqueViolation(err)) throw conflict(`A location with id ${loc.id} already exists.`);
    throw err;
  }
}

export async function listLocations(ctx: ServerContext): Promise<CreatedLocation[]> {
  const rows = await ctx.db.selectFrom('locations').select(['id', 'name', 'timezone', 'created_at']).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, timezone: r.timezone, createdAt: r.created_at }));
}

/** Throws `not_found` unless the location exists. */
export async function requireLocation(trx: Db, locationId: string): Promise<{ id: string; timezone: string }> {
  const row = await trx.selectFrom('locations').select(['id', 'timezone']).where('id', '=', locationId).executeTakeFirst();
  if (!row) throw notFound(`The location ${locationId}`);
  return row;
}

export const LocationEditInput = z.object({
  id: EntityId,
  name: z.string().trim().min(1).max(200).optional(),
  timezone: TimeZoneName.optional(),
});
export type LocationEditInput = z.input<typeof LocationEditInput>;

/**
 * Changes a location's display name or time zone; its id never changes (grants, stops and the
 * audit log refer to it). Audited with the old and new values. A new time zone applies to what
 * is dated from now on (new routes, time windows shown); routes already dated keep their date.
 */
export async function editLocation(
  ctx: ServerContext, actor: AuditActor, input: LocationEditInput,
): Promise<{ location: CreatedLocation; changed: ('name' | 'timezone')[] }> {
  const edit = parseInput(LocationEditInput, input);
  return ctx.db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('locations').select(['id', 'name', 'timezone', 'created_at']).where('id', '=', edit.id).executeTakeFirst();
    if (!before) throw notFound(`The location ${edit.id}`);
    const changed: ('name' | 'timezone')[] = [];
    if (edit.name !== undefined && edit.name !== before.name) changed.push('name');
    if (edit.timezone !== undefined && edit.timezone !== before.timezone) changed.push('timezone');
    const after = { name: changed.includes('name') ? edit.name! : before.name, timezone: changed.includes('timezone') ? edit.timezone! : before.timezone };
    if (changed.length > 0) {
      const now = ctx.now();
      await trx.updateTable('locations').set(after).where('id', '=', edit.id).execute();
      await appendAudit(trx, actor, {
        action: 'location.edit', outcome: 'ok', targetType: 'location', targetId: edit.id, locationId: edit.id,
        details: Object.fromEntries(changed.map((field) => [field, { from: before[field], to: after[field] }])),
      }, now);
    }
    return { location: { id: before.id, ...after, createdAt: before.created_at }, changed };
  });
}
