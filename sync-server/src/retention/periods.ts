import {
  locationRetentionClasses, type LocationRetention, type LocationRetentionChange, type LocationRetentionClass, retentionClassSpecs,
  retentionDaysField,
} from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import { retentionMaxDaysVariable } from '../config-retention';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { effectiveRetention, globalRetention } from './policy';

/**
 * Changing a location's retention periods (docs/security-model.md, "Retention and legal holds"):
 * a period at or below the current one applies at once; one above it is a widening, which only an
 * approved `retention.widen` applies (approvals/actions/retention-widen.ts). No period may exceed
 * the server's maximum for its class.
 */

export interface RetentionChangePlan {
  /** Periods that apply at once (narrowing, or unchanged). */
  narrow: Partial<LocationRetention>;
  /** Periods above the current value: need a second person. */
  widen: Partial<LocationRetention>;
  current: LocationRetention;
}

/** `<field> <days>` pairs in words: "contactDays 90 -> 180". */
export function changeInWords(from: LocationRetention, to: Partial<LocationRetention>): string {
  return Object.entries(to).map(([f, d]) => `${f} ${from[f as keyof LocationRetention]} -> ${d}`).join(', ');
}

/** The classes named in a change, in catalogue order. */
export function changedClasses(change: Partial<LocationRetention>): LocationRetentionClass[] {
  return locationRetentionClasses.filter((c) => change[retentionDaysField[c]] !== undefined);
}

/**
 * Splits a requested change into what applies now and what widens; `overMax` lists the periods
 * above the server's maximum (empty when every one is within bounds).
 */
export async function planRetentionChange(
  ctx: Pick<ServerContext, 'config' | 'db'>, locationId: string, change: LocationRetentionChange,
): Promise<{ plan: RetentionChangePlan; overMax: string[] }> {
  const current = await effectiveRetention(ctx, locationId);
  const { maxDays } = globalRetention(ctx.config);
  const narrow: Partial<LocationRetention> = {};
  const widen: Partial<LocationRetention> = {};
  const overMax: string[] = [];
  for (const c of changedClasses(change)) {
    const f = retentionDaysField[c];
    const d = change[f]!;
    if (d > maxDays[f]) overMax.push(`${f}: ${d} days is above the most this server allows (${maxDays[f]} days, ${retentionMaxDaysVariable(retentionClassSpecs[c].envName)})`);
    else if (d > current[f]) widen[f] = d;
    else narrow[f] = d;
  }
  return { plan: { narrow, widen, current }, overMax };
}

/** Stores periods of one location and audits them (`retention.set`) in the caller's transaction. */
export async function storeLocationRetention(
  trx: Db, actor: AuditActor, locationId: string, before: LocationRetention, days: Partial<LocationRetention>, now: number,
  approvalId?: string,
): Promise<void> {
  const classes = changedClasses(days);
  if (classes.length === 0) return;
  for (const c of classes) {
    const value = days[retentionDaysField[c]]!;
    await trx.insertInto('retention_policies')
      .values({ location_id: locationId, class: c, days: value, updated_at: now, updated_by: actor.label })
      .onConflict((oc) => oc.columns(['location_id', 'class']).doUpdateSet({ days: value, updated_at: now, updated_by: actor.label }))
      .execute();
  }
  const periods = Object.fromEntries(classes.map((c) => [c, { from: before[retentionDaysField[c]], to: days[retentionDaysField[c]] }]));
  await appendAudit(trx, actor, {
    action: approvalId ? 'retention.widen' : 'retention.set', outcome: 'ok', targetType: 'location', targetId: locationId, locationId,
    details: { periods, ...(approvalId ? { approvalId } : {}) },
  }, now);
}
