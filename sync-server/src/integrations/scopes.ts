import {
  machinePermissionCounterpart, type MachinePermission, type Permission, type ProfileField, profileFieldPermission,
} from '@depotline/shared';
import { type AccessProfile, viewAt } from '../access/access-profile';
import { AccessRefused, type Granter } from '../access/authority';
import type { IntegrationRecord } from './records';

/*
 * Who may manage an integration (docs/security-model.md, "Integrations"). No escalation: the
 * admin needs `integration.manage` at every location the integration holds a scope at, before
 * and after the change, and must hold there, for everything at the location, the counterpart of
 * every machine permission it gets (`machinePermissionCounterpart`: `stop.edit` for
 * `orders.write`) and the permission that reveals every field of its data profile
 * (`profileFieldPermission`): nobody hands an outside system more than they may do and see.
 */

/** The shape of an integration the checks look at. */
export type IntegrationShape = Pick<IntegrationRecord, 'scopes' | 'dataProfile'>;

/** The locations where the user holds `integration.manage` (where they see and manage integrations). */
export function integrationManagingLocations(profile: AccessProfile, now: number): string[] {
  return [...profile.byLocation.keys()].filter((id) => viewAt(profile, id, now)?.general.has('integration.manage')).sort();
}

/** What the granter must hold at one location for the integration to have `scope` there with `profile`. */
function needsAt(permissions: readonly MachinePermission[], profile: readonly ProfileField[]): Permission[] {
  return [...new Set<Permission>([
    'integration.manage', ...permissions.map((p) => machinePermissionCounterpart[p]), ...profile.map((f) => profileFieldPermission[f]),
  ])];
}

/**
 * Throws `AccessRefused` (its caller audits it) naming the first location and permission the
 * granter lacks to turn `before` (null: a new integration) into `after`. At a location the
 * change removes, `integration.manage` is enough: taking access away is never escalation, but
 * an admin of depot A may not touch what the integration does at depot B.
 */
export function requireIntegrationAuthority(
  granter: Granter, before: IntegrationShape | null, after: IntegrationShape, now: number, refusal: { action: string; targetId: string },
): void {
  if (granter.kind === 'operator') return;
  const checks = new Map<string, Permission[]>();
  for (const s of before?.scopes ?? []) checks.set(s.locationId, ['integration.manage']);
  for (const s of after.scopes) checks.set(s.locationId, needsAt(s.permissions, after.dataProfile));
  for (const [locationId, needs] of [...checks].sort(([a], [b]) => a.localeCompare(b))) {
    const general = viewAt(granter.profile, locationId, now)?.general;
    const missing = needs.find((p) => !general?.has(p));
    if (missing) {
      throw new AccessRefused(
        { action: refusal.action, permission: missing, locationId, targetType: 'integration', targetId: refusal.targetId },
        missing === 'integration.manage'
          ? `You need integration.manage at ${locationId} to change what an integration may do there.`
          : `You cannot give an integration at ${locationId} what you do not hold yourself (${missing}).`,
      );
    }
  }
}

/** Whether the user may see the integration: `integration.manage` at one location of its scope at least. */
export function mayViewIntegration(profile: AccessProfile, integration: IntegrationShape, now: number): boolean {
  const mine = integrationManagingLocations(profile, now);
  return integration.scopes.some((s) => mine.includes(s.locationId));
}
