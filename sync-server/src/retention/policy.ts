import {
  isLocationRetentionClass, type LocationAccess, locationRetentionClasses, type LocationRetention, type LocationRetentionClass, retentionDaysField,
} from '@depotline/shared';
import type { ServerConfig } from '../config';
import { defaultLocationRetention, type RetentionSettings } from '../config-retention';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';

/**
 * How long each retention class lives (docs/security-model.md, "Retention and legal holds"): the
 * server's defaults (config-retention.ts), and each location's own periods where it set one
 * (`retention_policies`). One answer for the purge, erasure, REST, the CLI and desktops.
 */

export const dayMs = 86_400_000;

/** The server-wide periods in days, every class. */
export interface GlobalRetention {
  /** A location that set nothing keeps data this long. */
  location: LocationRetention;
  /** The most each location period may be widened to. */
  maxDays: LocationRetention;
  integrationLogDays: number;
  sessionDays: number;
  auditDays: number;
}

export function globalRetention(config: Pick<ServerConfig, 'retention' | 'integrationLogDays'>): GlobalRetention {
  const s: RetentionSettings = config.retention;
  const maxDays = {} as Record<string, number>;
  for (const c of locationRetentionClasses) maxDays[retentionDaysField[c]] = s.location[c].maxDays;
  return {
    location: defaultLocationRetention(s),
    maxDays: maxDays as LocationRetention,
    integrationLogDays: config.integrationLogDays,
    sessionDays: s.sessionDays,
    auditDays: s.auditDays,
  };
}

/** What one location set for itself, class by class (the classes it did not set are absent). */
export async function locationOverrides(db: Db, locationId: string): Promise<Partial<LocationRetention>> {
  return (await overridesOf(db, [locationId])).get(locationId) ?? {};
}

async function overridesOf(db: Db, locationIds: readonly string[]): Promise<Map<string, Partial<LocationRetention>>> {
  const out = new Map<string, Partial<LocationRetention>>();
  if (locationIds.length === 0) return out;
  const rows = await db.selectFrom('retention_policies').select(['location_id', 'class', 'days'])
    .where('location_id', 'in', [...locationIds]).execute();
  for (const r of rows) {
    if (!isLocationRetentionClass(r.class)) continue;
    const o = out.get(r.location_id) ?? {};
    o[retentionDaysField[r.class]] = Number(r.days);
    out.set(r.location_id, o);
  }
  return out;
}

/**
 * The effective periods: the location's own value where set, else the default; never above the
 * configured maximum (an operator who lowers a MAX lowers every location above it at once).
 */
function effectiveOf(global: GlobalRetention, overrides: Partial<LocationRetention>): LocationRetention {
  const out = { ...global.location };
  for (const c of locationRetentionClasses) {
    const f = retentionDaysField[c];
    const own = overrides[f];
    if (own !== undefined) out[f] = own;
    out[f] = Math.min(out[f], global.maxDays[f]);
  }
  return out;
}

/** The effective retention of one location. */
export async function effectiveRetention(ctx: Pick<ServerContext, 'config' | 'db'>, locationId: string): Promise<LocationRetention> {
  return effectiveOf(globalRetention(ctx.config), await locationOverrides(ctx.db, locationId));
}

/** The effective retention of several locations at once (listing a user's locations). */
export async function effectiveRetentions(ctx: Pick<ServerContext, 'config' | 'db'>, locationIds: readonly string[]): Promise<Map<string, LocationRetention>> {
  const global = globalRetention(ctx.config);
  const overrides = await overridesOf(ctx.db, locationIds);
  return new Map(locationIds.map((id) => [id, effectiveOf(global, overrides.get(id) ?? {})]));
}

/** The cutoff of one class at one location: a record aged from before it is past retention. */
export function retentionCutoff(retention: LocationRetention, c: LocationRetentionClass, now: number): number {
  return now - retention[retentionDaysField[c]] * dayMs;
}

/**
 * A user's locations with each one's effective periods (`LocationAccess.retention`): how desktops
 * learn the policy they apply offline. Every place that lists a user's locations to a client uses it.
 */
export async function withRetention(ctx: Pick<ServerContext, 'config' | 'db'>, access: LocationAccess[]): Promise<LocationAccess[]> {
  const retention = await effectiveRetentions(ctx, access.map((a) => a.location.id));
  return access.map((a) => ({ ...a, retention: retention.get(a.location.id) }));
}
