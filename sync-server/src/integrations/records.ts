import {
  type IntegrationKind, type IntegrationView, integrationKinds, isMachinePermission, type MachinePermission, machinePermissions,
  type OrderVisibility, type ProfileField, profileFields,
} from '@depotline/shared';
import type { Db } from '../db/database';

/**
 * An integration as stored (tables `integrations`, `integration_scopes`), read into one record.
 * Stored lists are read defensively: a profile field, scope or range the server no longer knows
 * counts for nothing (a profile can only shrink that way, never grow).
 */
export interface IntegrationRecord {
  id: string;
  name: string;
  kind: IntegrationKind;
  contact: string;
  /** Machine permissions per location, locations sorted. */
  scopes: { locationId: string; permissions: MachinePermission[] }[];
  dataProfile: ProfileField[];
  ipAllowlist: string[];
  autoSuspendOnAlert: boolean;
  /** Which orders at its locations it reads and hears about: its own (`integration_orders`), or all. */
  orderVisibility: OrderVisibility;
  suspendedAt: number | null;
  suspendedReason: string | null;
  version: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
}

/** The locations an integration holds any scope at. */
export const integrationLocations = (i: Pick<IntegrationRecord, 'scopes'>) => i.scopes.map((s) => s.locationId);

function parseList(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** A stored address allowlist (canonical CIDR entries). */
export const parseIpAllowlist = (json: string): string[] => parseList(json);

export const parseDataProfile = (json: string): ProfileField[] => {
  const stored = parseList(json);
  return profileFields.filter((f) => stored.includes(f));
};

type IntegrationRow = {
  id: string; name: string; kind: string; contact: string; data_profile: string; ip_allowlist: string; auto_suspend_on_alert: number; order_visibility: string;
  suspended_at: number | null; suspended_reason: string | null; version: number; created_at: number; created_by: string; updated_at: number;
};

function recordOf(row: IntegrationRow, scopeRows: readonly { location_id: string; permission: string }[]): IntegrationRecord {
  const byLocation = new Map<string, Set<MachinePermission>>();
  for (const s of scopeRows) {
    if (!isMachinePermission(s.permission)) continue;
    let set = byLocation.get(s.location_id);
    if (!set) byLocation.set(s.location_id, (set = new Set()));
    set.add(s.permission);
  }
  return {
    id: row.id,
    name: row.name,
    kind: (integrationKinds as readonly string[]).includes(row.kind) ? (row.kind as IntegrationKind) : 'other',
    contact: row.contact,
    scopes: [...byLocation.keys()].sort().map((locationId) => ({
      locationId, permissions: machinePermissions.filter((p) => byLocation.get(locationId)!.has(p)),
    })),
    dataProfile: parseDataProfile(row.data_profile),
    ipAllowlist: parseList(row.ip_allowlist),
    autoSuspendOnAlert: row.auto_suspend_on_alert !== 0,
    // Anything but a known widening reads as the narrowest.
    orderVisibility: row.order_visibility === 'location' ? 'location' : 'own',
    suspendedAt: row.suspended_at === null ? null : Number(row.suspended_at),
    suspendedReason: row.suspended_reason,
    version: Number(row.version),
    createdAt: Number(row.created_at),
    createdBy: row.created_by,
    updatedAt: Number(row.updated_at),
  };
}

const columns = [
  'id', 'name', 'kind', 'contact', 'data_profile', 'ip_allowlist', 'auto_suspend_on_alert', 'order_visibility', 'suspended_at', 'suspended_reason',
  'version', 'created_at', 'created_by', 'updated_at',
] as const;

export async function findIntegration(db: Db, by: { id: string } | { name: string }): Promise<IntegrationRecord | null> {
  let q = db.selectFrom('integrations').select(columns);
  q = 'id' in by ? q.where('id', '=', by.id) : q.where('name', '=', by.name);
  const row = await q.executeTakeFirst();
  if (!row) return null;
  const scopes = await db.selectFrom('integration_scopes').select(['location_id', 'permission']).where('integration_id', '=', row.id).execute();
  return recordOf(row, scopes);
}

/**
 * Integrations holding a scope at one of `within` (all of them when `within` is null: the
 * operator), by name. `locationId` narrows to one location.
 */
export async function listIntegrationRecords(
  db: Db, opts: { within: readonly string[] | null; locationId?: string | undefined; includeSuspended: boolean },
): Promise<IntegrationRecord[]> {
  const locations = opts.locationId ? (opts.within === null || opts.within.includes(opts.locationId) ? [opts.locationId] : []) : opts.within;
  if (locations !== null && locations.length === 0) return [];
  let q = db.selectFrom('integrations').select(columns).orderBy('name');
  if (locations !== null) {
    q = q.where('id', 'in', db.selectFrom('integration_scopes').select('integration_id').where('location_id', 'in', locations));
  }
  if (!opts.includeSuspended) q = q.where('suspended_at', 'is', null);
  const rows = await q.limit(1000).execute();
  if (rows.length === 0) return [];
  const scopes = await db.selectFrom('integration_scopes').select(['integration_id', 'location_id', 'permission'])
    .where('integration_id', 'in', rows.map((r) => r.id)).execute();
  return rows.map((r) => recordOf(r, scopes.filter((s) => s.integration_id === r.id)));
}

/** What an admin should know about an integration as it stands. */
export function integrationWarnings(i: IntegrationRecord): string[] {
  const warnings: string[] = [];
  if (i.ipAllowlist.length === 0) warnings.push('No address allowlist: calls with a valid credential are accepted from any address.');
  const wide = i.ipAllowlist.filter((c) => c.endsWith('/0'));
  if (wide.length > 0) warnings.push(`The allowlist holds ${wide.join(' and ')}, which allows every address of that family.`);
  if (i.suspendedAt !== null) warnings.push(`Suspended: every call is refused (${i.suspendedReason ?? 'no reason given'}).`);
  return warnings;
}

export function presentIntegration(i: IntegrationRecord): IntegrationView {
  return {
    id: i.id, name: i.name, kind: i.kind, contact: i.contact, scopes: i.scopes, dataProfile: i.dataProfile, ipAllowlist: i.ipAllowlist,
    autoSuspendOnAlert: i.autoSuspendOnAlert, orderVisibility: i.orderVisibility, suspendedAt: i.suspendedAt, suspendedReason: i.suspendedReason,
    createdAt: i.createdAt, createdBy: i.createdBy, updatedAt: i.updatedAt, version: i.version, warnings: integrationWarnings(i),
  };
}
