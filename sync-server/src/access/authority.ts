import { type Permission, type RoleName, roleTemplates, selfOnlyPermissions } from '@depotline/shared';
import type { AuditActor } from '../audit/audit-log';
import { AppError } from '../errors';
import { type AccessProfile, viewAt } from './access-profile';
import type { AuthorizationRequest } from './authorize';
import { groupFallsUnderRoles } from './role-policy';

/**
 * Who changes access: a signed-in user (checked against their own grants) or the admin CLI run
 * by an IT admin on the server host (trusted, but still audited).
 */
export type Granter = { kind: 'user'; actor: AuditActor; profile: AccessProfile } | { kind: 'operator'; actor: AuditActor };

/**
 * A refused change of access, found inside a transaction: the transaction rolls back, and
 * whoever ran it records `deniedEvent(refusal.request)` (authorize.ts) on its own (an endpoint's `audit`, or
 * `auditDenied`), so the refusal is audited although nothing else is written.
 */
export class AccessRefused extends AppError {
  constructor(readonly request: AuthorizationRequest, message: string) {
    super('forbidden', 403, message);
  }
}

/**
 * The first (location, permission) the granter does not hold for everything there: `manage`
 * (the permission to make the change), then each permission the change hands out. Null when
 * they hold all of them at every location. Self-only permissions (a driver's own position) give
 * no power over anyone, so handing them out does not need them.
 */
export function missingAuthority(
  granter: Granter, locationIds: readonly string[], manage: Permission, handsOut: readonly Permission[], now: number,
): { locationId: string; permission: Permission } | null {
  if (granter.kind === 'operator') return null;
  const needs = [manage, ...handsOut.filter((p) => !selfOnlyPermissions.includes(p))];
  for (const locationId of locationIds) {
    const general = viewAt(granter.profile, locationId, now)?.general;
    for (const permission of needs) if (!general?.has(permission)) return { locationId, permission };
  }
  return null;
}

/** Whether the granter may hand out (or take back) `role` at the location: `grant.manage` and a role whose `mayGrant` has it. */
export function mayGrantRole(granter: Granter, role: RoleName, locationId: string, now: number): boolean {
  if (granter.kind === 'operator') return true;
  const view = viewAt(granter.profile, locationId, now);
  return !!view && view.general.has('grant.manage') && [...view.roles].some((r) => roleTemplates[r].mayGrant.includes(role));
}

/** Throws `AccessRefused` naming the first missing permission (see `missingAuthority`). */
export function requireAuthority(
  granter: Granter, locationIds: readonly string[], manage: Permission, handsOut: readonly Permission[], now: number,
  refusal: Omit<AuthorizationRequest, 'permission' | 'locationId'>, message: string,
): void {
  const missing = missingAuthority(granter, locationIds, manage, handsOut, now);
  if (missing) throw new AccessRefused({ ...refusal, ...missing }, message);
}

/**
 * Whether holders of a group must use a second factor at sign-in. A group that allows nothing
 * never requires one. The group's flag can waive it only when the group does not fall under the
 * MFA policy (`MFA_REQUIRED_ROLES`) by the rule every role-naming policy uses
 * (role-policy.ts): a group never hands out without MFA what a role would hand out only with it.
 */
export function groupRequiresMfa(group: { permissions: ReadonlySet<Permission>; mfaRequired: boolean }, mfaRequiredRoles: ReadonlySet<string>): boolean {
  // A group of denials only gives no power to protect.
  if (group.permissions.size === 0) return false;
  return group.mfaRequired || groupFallsUnderRoles(group.permissions, mfaRequiredRoles);
}

/** Whether the user's grants in force require a second factor at sign-in: by role policy, or by a group. */
export function grantsRequireMfa(profile: AccessProfile, mfaRequiredRoles: ReadonlySet<string>): boolean {
  const roles = [...profile.byLocation.values()].flatMap((v) => [...v.roles]);
  return roles.some((r) => mfaRequiredRoles.has(r)) || [...profile.groups.values()].some((g) => groupRequiresMfa(g, mfaRequiredRoles));
}
