import { type Permission, roleNames, roleTemplates, selfOnlyPermissions } from '@depotline/shared';
import type { AccessProfile } from './access-profile';

/**
 * Sign-in policies that name role templates (MFA_REQUIRED_ROLES, DEVICE_APPROVAL_ROLES,
 * WEBAUTHN_REQUIRED_ROLES) and how a permission group falls under them (docs/security-model.md,
 * "Policies that name roles"). One rule for all three: a group counts as one of the listed roles
 * unless a single role template outside the list already allows everything the group allows, for
 * everything at a location. So a group never escapes a policy that a role with the same power is
 * under: a group allowing `grant.manage` is held and keyed like a manager when the policy lists
 * manager. Self-only permissions (`position.report`) give no power over anyone and are left out.
 */

/** Whether a group allowing `permissions` counts as one of the `listed` roles (see above). */
export function groupFallsUnderRoles(permissions: ReadonlySet<Permission>, listed: ReadonlySet<string>): boolean {
  const powers = [...permissions].filter((p) => !selfOnlyPermissions.includes(p));
  // A group of denials (or of self-only permissions) gives no power to protect.
  if (powers.length === 0) return false;
  return !roleNames.some((r) => {
    const t = roleTemplates[r];
    return !listed.has(r) && !t.assignedRoutesOnly && powers.every((p) => t.permissions.includes(p));
  });
}

/**
 * Whether the user's grants in force fall under a policy listing `listed` roles: a grant of a
 * listed role at any location, or a grant of a group that counts as one (`groupFallsUnderRoles`).
 */
export function grantsFallUnderRoles(profile: AccessProfile, listed: ReadonlySet<string>): boolean {
  if (listed.size === 0) return false;
  const roles = [...profile.byLocation.values()].flatMap((v) => [...v.roles]);
  return roles.some((r) => listed.has(r)) || [...profile.groups.values()].some((g) => groupFallsUnderRoles(g.permissions, listed));
}
