import { type Change, maxPullLimit, type PullRequest, type PullResponse } from '@depotline/shared';
import type { ServerContext } from '../context';
import { activeHolds, isHeld } from '../retention/holds';
import { presentDriver, presentPosition, presentRoute, presentStop, presentVehicle } from './presenters';
import { redactChangeForScope, type ViewerScope } from './visibility';
import type { ChangeEntity } from './change-log';

export const defaultPullLimit = 500;

/**
 * The current state of each entity, as a full (unredacted) change at the entity's own
 * version. Rows are fetched by primary key and then kept only if they belong to the location,
 * so nothing of another location can ever be returned. (Putting `location_id = ?` in the SQL
 * instead makes SQLite plan the lookup on the location index and scan every stop of the
 * location per chunk, which made catching up cost the square of the backlog.)
 */
export async function loadEntityChanges(
  ctx: ServerContext,
  locationId: string,
  refs: readonly { entity: ChangeEntity; id: string }[],
): Promise<Map<string, Change>> {
  const ids = (e: ChangeEntity) => [...new Set(refs.filter((r) => r.entity === e).map((r) => r.id))];
  const out = new Map<string, Change>();
  const key = (e: string, id: string) => `${e}:${id}`;
  const chunks = <T,>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / 500) }, (_, i) => xs.slice(i * 500, i * 500 + 500));

  // The location's legal holds, read once for the whole set: a held stop says so (`held`), so a
  // console's local retention sweep leaves it alone.
  const stopIds = ids('stop');
  const holds = stopIds.length > 0 ? await activeHolds(ctx.db, locationId) : null;
  for (const part of chunks(stopIds)) {
    const rows = await ctx.db.selectFrom('stops').selectAll().where('id', 'in', part).execute();
    for (const r of rows) {
      if (r.location_id !== locationId) continue;
      const held = holds !== null && isHeld(holds, r);
      out.set(key('stop', r.id), { entity: 'stop', locationId, version: r.version, data: { ...presentStop(ctx, r), ...(held ? { held } : {}) } });
    }
  }
  for (const part of chunks(ids('route'))) {
    const rows = await ctx.db.selectFrom('routes').selectAll().where('id', 'in', part).execute();
    for (const r of rows) if (r.location_id === locationId) out.set(key('route', r.id), { entity: 'route', locationId, version: r.version, data: presentRoute(r) });
  }
  for (const part of chunks(ids('position'))) {
    const rows = await ctx.db.selectFrom('positions').selectAll().where('driver_id', 'in', part).execute();
    for (const r of rows) if (r.location_id === locationId) out.set(key('position', r.driver_id), { entity: 'position', locationId, version: r.version, data: presentPosition(r) });
  }
  // Drivers and vehicles carry no version column: their latest change-log version stands for
  // them (the pull stamps each with the entry it reads; the live feed sends this one).
  const latest = async (entity: 'driver' | 'vehicle', part: string[]) => new Map((await ctx.db.selectFrom('changes')
    .select(['entity_id', (eb) => eb.fn.max('version').as('v')])
    .where('location_id', '=', locationId).where('entity', '=', entity).where('entity_id', 'in', part)
    .groupBy('entity_id').execute()).map((r) => [r.entity_id, Number(r.v)]));
  for (const part of chunks(ids('driver'))) {
    const rows = await ctx.db.selectFrom('drivers').selectAll().where('id', 'in', part).execute();
    const versions = await latest('driver', part);
    for (const r of rows) {
      const version = versions.get(r.id);
      if (r.location_id === locationId && version) out.set(key('driver', r.id), { entity: 'driver', locationId, version, data: presentDriver(r) });
    }
  }
  for (const part of chunks(ids('vehicle'))) {
    const rows = await ctx.db.selectFrom('vehicles').selectAll().where('id', 'in', part).execute();
    const versions = await latest('vehicle', part);
    for (const r of rows) {
      const version = versions.get(r.id);
      if (r.location_id === locationId && version) out.set(key('vehicle', r.id), { entity: 'vehicle', locationId, version, data: presentVehicle(r) });
    }
  }
  return out;
}

/**
 * One page of changes after the client's cursor, filtered and redacted for the caller
 * (docs/sync-protocol.md). An entity changed several times is sent once, at its latest change,
 * so catching up costs one row per entity, not one per edit. Authorization happens before
 * this is called.
 */
export async function pullChanges(ctx: ServerContext, scope: ViewerScope, req: PullRequest): Promise<PullResponse> {
  const limit = Math.min(req.limit ?? defaultPullLimit, maxPullLimit);
  const rows = await ctx.db
    .selectFrom('changes')
    .select(['version', 'entity', 'entity_id'])
    .where('location_id', '=', req.locationId)
    .where('version', '>', req.after)
    .orderBy('version')
    .limit(limit + 1)
    .execute();
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const current = await loadEntityChanges(ctx, req.locationId, page.map((r) => ({ entity: r.entity as ChangeEntity, id: r.entity_id })));

  // A stop or route whose row is gone was deleted (retention/stop-erasure.ts, the purge's emptied
  // routes): a client that may hold it is told to remove it, once per page, at its newest entry
  // there. A first pull holds nothing.
  const lastEntryOfGone = new Map<string, number>();
  const removable = (entity: string): entity is 'stop' | 'route' => entity === 'stop' || entity === 'route';
  if (req.after > 0) {
    for (const row of page) {
      const key = `${row.entity}:${row.entity_id}`;
      if (removable(row.entity) && !current.has(key)) lastEntryOfGone.set(key, row.version);
    }
  }

  const changes: Change[] = [];
  for (const row of page) {
    const full = current.get(`${row.entity}:${row.entity_id}`);
    if (!full) {
      if (removable(row.entity) && lastEntryOfGone.get(`${row.entity}:${row.entity_id}`) === row.version) {
        changes.push({ entity: 'removed', locationId: req.locationId, version: Number(row.version), data: { kind: row.entity, id: row.entity_id } });
      }
      continue;
    }
    const isLatest = full.entity === 'driver' || full.entity === 'vehicle' || full.version === row.version;
    if (!isLatest) continue; // a later change in the log carries this entity
    const stamped: Change = full.entity === 'driver' || full.entity === 'vehicle' ? { ...full, version: row.version } : full;
    const visible = redactChangeForScope(stamped, scope);
    if (visible) changes.push(visible);
    else if (req.after > 0 && stamped.entity === 'route') {
      // A route that stopped being this driver's: tell the device to forget it and its stops.
      changes.push({ entity: 'removed', locationId: req.locationId, version: row.version, data: { kind: 'route', id: row.entity_id } });
    }
  }
  const cursor = page.length > 0 ? page[page.length - 1]!.version : req.after;
  return { locationId: req.locationId, changes, cursor, hasMore };
}
