import { isMachinePermission, type MachinePermission } from '@depotline/shared';
import type { ServerConfig } from '../config';
import { badRequest } from '../errors';

/**
 * The rules every integration credential (API key, OAuth client secret) is made under: a
 * required expiry no further away than the policy allows, scopes no wider than the
 * integration's, and a rotation overlap the admin chooses within a bound.
 */

const dayMs = 86_400_000;

/** `expiresAt` must be in the future and at most DEPOTLINE_API_KEY_MAX_DAYS away. */
export function checkExpiry(config: Pick<ServerConfig, 'integrationCredentials'>, expiresAt: number, now: number, field = 'expiresAt'): number {
  const maxDays = config.integrationCredentials.maxKeyDays;
  if (expiresAt <= now) throw badRequest([`${field}: the expiry must be in the future`]);
  if (expiresAt > now + maxDays * dayMs) throw badRequest([`${field}: a credential may live at most ${maxDays} days (DEPOTLINE_API_KEY_MAX_DAYS)`]);
  return expiresAt;
}

/**
 * When the old secret of a rotation stops: now at the earliest (no overlap), at most
 * DEPOTLINE_ROTATION_OVERLAP_MAX_DAYS away, and never after the old secret's own expiry.
 */
export function overlapEnd(config: Pick<ServerConfig, 'integrationCredentials'>, oldEndsAt: number, oldExpiresAt: number, now: number): number {
  const maxDays = config.integrationCredentials.maxOverlapDays;
  if (oldEndsAt < now) throw badRequest(['oldEndsAt: the old credential cannot stop in the past; give the current time for no overlap']);
  if (oldEndsAt > now + maxDays * dayMs) throw badRequest([`oldEndsAt: the old and new credential may overlap at most ${maxDays} days (DEPOTLINE_ROTATION_OVERLAP_MAX_DAYS)`]);
  return Math.min(oldEndsAt, oldExpiresAt);
}

/** Refuses scopes the integration does not hold anywhere: a credential is never wider than its integration. */
export function checkScopesWithin(requested: readonly MachinePermission[], held: ReadonlySet<string>): MachinePermission[] {
  const wider = requested.filter((s) => !held.has(s));
  if (wider.length > 0) throw badRequest([`scopes: the integration does not hold ${wider.join(', ')}; a credential's scopes must be among the integration's`]);
  return [...requested];
}

/** Reads a stored JSON scope list; anything that is not a machine permission is dropped (fails closed). */
export function storedScopes(json: string): MachinePermission[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((s): s is MachinePermission => typeof s === 'string' && isMachinePermission(s)) : [];
  } catch {
    return [];
  }
}

export type CredentialStatus = 'active' | 'ending' | 'expired' | 'revoked';

/** What an admin sees of a credential's state at `now`. */
export function credentialStatus(c: { revoked_at: number | null; expires_at: number; ends_at: number | null }, now: number): CredentialStatus {
  if (c.revoked_at !== null) return 'revoked';
  if (c.expires_at <= now || (c.ends_at !== null && c.ends_at <= now)) return 'expired';
  return c.ends_at !== null ? 'ending' : 'active';
}
