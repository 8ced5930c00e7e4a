import type {
  ApiKeyView, ConsoleIntegrationView, ConsoleKeyView, ConsoleOAuthClientView, IntegrationView, OAuthClientView,
} from '@depotline/shared';
import { depotRefs, type DepotNames } from './governance-views';

/*
 * The Integrations screen's views of what the server answers. Each picks the fields the screen
 * draws, by name: who created what and key hashes stay out, and a secret never passes through
 * here (it goes from the answer that made it straight to the bridge's `NewSecret`).
 */

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * `managed`: the depots where this user holds `integration.manage`. An integration with scopes
 * anywhere else is shown read-only: only the administrators there may change it.
 */
export function toIntegrationView(i: IntegrationView, names: DepotNames, managed: ReadonlySet<string>): ConsoleIntegrationView {
  return {
    id: i.id, name: i.name, kind: i.kind, contact: clip(i.contact, 200),
    suspended: i.suspendedAt === null ? null : { at: i.suspendedAt, reason: i.suspendedReason && clip(i.suspendedReason, 500) },
    scopes: i.scopes.map((s) => ({ location: depotRefs([s.locationId], names)[0]!, scopes: s.permissions })),
    profile: i.dataProfile, ipAllowlist: i.ipAllowlist.slice(0, 100), autoSuspend: i.autoSuspendOnAlert, orderVisibility: i.orderVisibility,
    createdAt: i.createdAt, updatedAt: i.updatedAt, version: i.version,
    warnings: i.warnings.slice(0, 20).map((w) => clip(w, 500)),
    editable: i.scopes.every((s) => managed.has(s.locationId)),
  };
}

export const toKeyView = (k: ApiKeyView): ConsoleKeyView => ({
  id: k.id, name: clip(k.name, 100), scopes: k.scopes, status: k.status, createdAt: k.createdAt, expiresAt: k.expiresAt,
  endsAt: k.endsAt, revokedAt: k.revokedAt, lastUsedAt: k.lastUsedAt, lastUsedIp: k.lastUsedIp && clip(k.lastUsedIp, 64),
});

export const toOAuthClientView = (c: OAuthClientView): ConsoleOAuthClientView => ({
  id: c.id, name: clip(c.name, 100), scopes: c.scopes, status: c.status, createdAt: c.createdAt, expiresAt: c.expiresAt,
  revokedAt: c.revokedAt, lastUsedAt: c.lastUsedAt, lastUsedIp: c.lastUsedIp && clip(c.lastUsedIp, 64), previousSecretEndsAt: c.previousSecretEndsAt,
});
