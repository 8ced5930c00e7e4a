import { z } from 'zod';
import { EntityId, Timestamp } from './domain';
import { allPermissions, isMachinePermission, type Permission, roleNames } from './permissions';

/*
 * Custom permission groups (docs/security-model.md, "Permission groups and denials"): a named set
 * of permissions from the catalogue plus explicit denials, grantable at the locations of its
 * scope. A grant names a role template or a group. REST bodies under /api/v1/groups and
 * /api/v1/locations/:locationId/access (docs/api.md).
 */

export function isPermission(name: string): name is Permission {
  return (allPermissions as readonly string[]).includes(name);
}

/**
 * A permission name from the catalogue that a person can hold; anything else is refused with the
 * name it was given. Machine permissions (`machinePermissions`) belong to integrations only.
 */
export const CataloguePermission = z.string().max(64).refine(isPermission, {
  error: (issue) => `unknown permission "${String(issue.input).slice(0, 64)}" (see the permission catalogue)`,
}).refine((p): boolean => !isMachinePermission(p), {
  error: (issue) => `permission "${String(issue.input)}" is held only by integrations (their scopes), never by a group or a person`,
});

export const GroupId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'group ids are letters, digits, _ and -');
export type GroupId = z.infer<typeof GroupId>;

/** Readable and unique among all groups, retired ones included (`grant add --group <name>`). */
export const GroupName = z.string().min(1).max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'group names are lower-case letters, digits and . _ -')
  .refine((n) => !(roleNames as readonly string[]).includes(n), 'a group cannot be named like a role template');

const permissionList = z.array(CataloguePermission).max(64);

/** Checks shared by create and update: no permission both allowed and denied, not empty. */
function checkLists(value: { permissions?: Permission[]; denials?: Permission[] }, ctx: z.RefinementCtx, requireContent: boolean): void {
  const allowed = value.permissions ?? [];
  const denied = value.denials ?? [];
  for (const p of allowed) {
    if (denied.includes(p)) ctx.addIssue({ code: 'custom', path: ['denials'], message: `permission "${p}" is both allowed and denied` });
  }
  if (requireContent && allowed.length === 0 && denied.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['permissions'], message: 'a group allows or denies at least one permission' });
  }
}

export const GroupCreate = z.object({
  name: GroupName,
  description: z.string().max(500).default(''),
  /** What the group allows at the locations of a grant. May be empty for a group of denials only. */
  permissions: permissionList,
  /** What the group takes away at the locations of a grant, whatever any other grant gives there. */
  denials: permissionList.default([]),
  /** The locations where the group may be granted (its scope). */
  locationIds: z.array(EntityId).min(1).max(500),
  /** Holders must sign in with a second factor (the server may require it regardless: docs/security-model.md). */
  mfaRequired: z.boolean().default(true),
  /** Grants of the group must carry an expiry. */
  mustExpire: z.boolean().default(false),
}).superRefine((v, ctx) => checkLists(v, ctx, true));
export type GroupCreate = z.infer<typeof GroupCreate>;

/**
 * A change to a group: each list given replaces the group's list. `expectedVersion`, when given,
 * refuses the change (409) if the group changed since it was read.
 */
export const GroupUpdate = z.object({
  name: GroupName.optional(),
  description: z.string().max(500).optional(),
  permissions: permissionList.optional(),
  denials: permissionList.optional(),
  locationIds: z.array(EntityId).min(1).max(500).optional(),
  mfaRequired: z.boolean().optional(),
  mustExpire: z.boolean().optional(),
  expectedVersion: z.number().int().positive().optional(),
}).superRefine((v, ctx) => checkLists(v, ctx, false));
export type GroupUpdate = z.infer<typeof GroupUpdate>;

export const Group = z.object({
  id: GroupId,
  name: z.string(),
  description: z.string(),
  permissions: z.array(z.string()),
  denials: z.array(z.string()),
  /** The scope: locations where the group may be granted. */
  locationIds: z.array(EntityId),
  mfaRequired: z.boolean(),
  mustExpire: z.boolean(),
  /** Starts at 1, one more on each change. */
  version: z.number().int().positive(),
  /** Users holding an active grant of the group. */
  holders: z.number().int().nonnegative(),
  createdAt: Timestamp,
  createdBy: z.string().nullable(),
  updatedAt: Timestamp,
  updatedBy: z.string().nullable(),
  retiredAt: Timestamp.nullable(),
  retiredBy: z.string().nullable(),
});
export type Group = z.infer<typeof Group>;

/** `GET /groups`: groups whose scope meets a location where the caller holds `group.manage` or `grant.manage`. */
export const GroupListQuery = z.object({
  locationId: EntityId.optional(),
  includeRetired: z.enum(['true', 'false']).optional(),
});
export type GroupListQuery = z.infer<typeof GroupListQuery>;

export const GroupResponse = z.object({ group: Group });
export type GroupResponse = z.infer<typeof GroupResponse>;
export const GroupListResponse = z.object({ groups: z.array(Group) });
export type GroupListResponse = z.infer<typeof GroupListResponse>;

/** One active grant as the "who holds what" list shows it: a role template or a group. */
export const HeldGrant = z.object({
  grantId: z.string(),
  role: z.enum(roleNames).nullable(),
  group: z.object({ id: GroupId, name: z.string() }).nullable(),
  locationIds: z.array(EntityId),
  expiresAt: Timestamp.nullable(),
});
export type HeldGrant = z.infer<typeof HeldGrant>;

export const AccessHolder = z.object({
  userId: EntityId,
  username: z.string(),
  displayName: z.string(),
  grants: z.array(HeldGrant),
  /** Effective permissions for everything at the location, denials applied. */
  permissions: z.array(z.string()),
  /** Extra permissions on routes assigned to the user as a driver, denials applied. */
  assignedPermissions: z.array(z.string()),
  /** What the user's groups deny at the location. */
  denials: z.array(z.string()),
  /** Whether the user's grants make a second factor mandatory at sign-in. */
  mfaRequired: z.boolean(),
  expiresAt: Timestamp.nullable(),
});
export type AccessHolder = z.infer<typeof AccessHolder>;

/** `GET /locations/:locationId/access`: every user with an active grant at the location. */
export const LocationAccessList = z.object({
  locationId: EntityId,
  holders: z.array(AccessHolder),
});
export type LocationAccessList = z.infer<typeof LocationAccessList>;

/**
 * How a group change widens what its holders may do (empty lists and false flags: it only
 * narrows or renames). Creating a group is the change from nothing, retiring it the change to
 * nothing.
 */
export interface GroupWidening {
  widens: boolean;
  addedPermissions: Permission[];
  removedDenials: Permission[];
  addedLocationIds: string[];
  mfaRelaxed: boolean;
  expiryRelaxed: boolean;
}

export interface GroupShape {
  permissions: readonly string[];
  denials: readonly string[];
  locationIds: readonly string[];
  mfaRequired: boolean;
  mustExpire: boolean;
}

/** Pure: what `after` gives that `before` did not (`before` null: a new group). */
export function groupChangeWidens(before: GroupShape | null, after: GroupShape | null): GroupWidening {
  const had = (list: readonly string[] | undefined, x: string) => (list ?? []).includes(x);
  const addedPermissions = (after?.permissions ?? []).filter((p) => !had(before?.permissions, p)).filter(isPermission).sort();
  const removedDenials = (before?.denials ?? []).filter((p) => !had(after?.denials, p)).filter(isPermission).sort();
  const addedLocationIds = (after?.locationIds ?? []).filter((l) => !had(before?.locationIds, l)).sort();
  const mfaRelaxed = before !== null && after !== null && before.mfaRequired && !after.mfaRequired;
  const expiryRelaxed = before !== null && after !== null && before.mustExpire && !after.mustExpire;
  // A wider scope of a group that allows nothing only lets its denials be granted in more places.
  const scopeWidens = addedLocationIds.length > 0 && (after?.permissions.length ?? 0) > 0;
  const widens = addedPermissions.length > 0 || removedDenials.length > 0 || scopeWidens || mfaRelaxed || expiryRelaxed;
  return { widens, addedPermissions, removedDenials, addedLocationIds, mfaRelaxed, expiryRelaxed };
}
