import {
  PermissionName,
  type AccessHolder, type AccessHolderView, type ApprovalRequest, type ApprovalView, type ChangeLine, type DepotRef, type Group, type GroupView,
  type Permission,
} from '@depotline/shared';

/*
 * The governance screens' views of what the server answers. Each picks the fields the screen
 * draws, by name; user ids stay in main. Depots are named from this computer's list of the
 * user's depots; one they have no access to keeps its id and no name.
 */

export type DepotNames = ReadonlyMap<string, string>;

const known = new Set<string>(PermissionName.options);
/** Catalogue permissions only, in catalogue order: a name this console does not know is not drawn. */
export const cataloguePermissions = (list: readonly string[]): Permission[] =>
  PermissionName.options.filter((p) => list.includes(p) && known.has(p));

export const depotRefs = (ids: readonly string[], names: DepotNames): DepotRef[] => ids.map((id) => ({ id, name: names.get(id) ?? null }));

export const toGroupView = (g: Group, names: DepotNames): GroupView => ({
  id: g.id, name: g.name, description: g.description, permissions: cataloguePermissions(g.permissions), denials: cataloguePermissions(g.denials),
  locations: depotRefs(g.locationIds, names), mfaRequired: g.mfaRequired, mustExpire: g.mustExpire, version: g.version, holders: g.holders,
  updatedAt: g.updatedAt, retiredAt: g.retiredAt,
});

export const toHolderView = (h: AccessHolder, names: DepotNames): AccessHolderView => ({
  username: h.username, displayName: h.displayName,
  grants: h.grants.map((g) => ({ role: g.role, groupName: g.group?.name ?? null, locations: depotRefs(g.locationIds, names), expiresAt: g.expiresAt })),
  permissions: cataloguePermissions(h.permissions), assignedPermissions: cataloguePermissions(h.assignedPermissions),
  denials: cataloguePermissions(h.denials), mfaRequired: h.mfaRequired, expiresAt: h.expiresAt,
});

export function toApprovalView(a: ApprovalRequest, names: DepotNames): ApprovalView {
  return {
    id: a.id, kind: a.kind, title: clip(a.title, 200), summary: clip(a.summary, 2000), change: changeLines(a.change, names), reason: clip(a.reason, 1000),
    locations: depotRefs(a.locationIds, names), handsOut: cataloguePermissions(a.handsOut),
    requestedBy: clip(a.requestedBy.label, 256), requestedAt: a.requestedAt, expiresAt: a.expiresAt, status: a.status,
    decidedBy: a.decidedBy && clip(a.decidedBy.label, 256), decidedAt: a.decidedAt,
    decisionNote: a.decisionNote && clip(a.decisionNote, 1000), staleReason: a.staleReason && clip(a.staleReason, 1000), usedAt: a.usedAt,
    mine: a.mine, mayDecide: a.mayDecide && !a.mine && a.status === 'pending',
    canDownload: a.kind === 'export.bulk' && a.mine && a.status === 'approved' && a.usedAt === null,
  };
}

/**
 * The exact change, one line per field, as the approver must see it before deciding: lists
 * spelled out, depots named (with their id, since two depots may share a name), times in UTC.
 */
export function changeLines(change: Record<string, unknown>, names: DepotNames): ChangeLine[] {
  return flatten(change, '').slice(0, 100).map(([field, value]) => ({ field: clip(field, 100), value: clip(valueText(field.split('.').pop() ?? field, value, names), 2000) }));
}

/** Nested parts (a group inside a group change) as `group.permissions` lines, two levels deep at most. */
function flatten(record: Record<string, unknown>, prefix: string): Array<[string, unknown]> {
  return Object.entries(record).flatMap(([key, value]): Array<[string, unknown]> =>
    isPlainObject(value) && prefix.split('.').length < 3 ? flatten(value, `${prefix}${key}.`) : [[`${prefix}${key}`, value]]);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function valueText(field: string, value: unknown, names: DepotNames): string {
  if (value === null || value === undefined) return 'none';
  if (field === 'locationIds' && Array.isArray(value)) {
    return value.map((id) => (typeof id === 'string' && names.has(id) ? `${names.get(id)} (${id})` : String(id))).join(', ') || 'none';
  }
  if (field === 'locationId' && typeof value === 'string') return names.has(value) ? `${names.get(value)} (${value})` : value;
  if (typeof value === 'number' && /At$/.test(field)) return new Date(value).toISOString().replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, ' UTC');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v))).join(', ') || 'none';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
