import { addressInRanges, canonicalAddress } from '@depotline/shared';
import type { IntegrationRecord } from './records';

/*
 * The address allowlist of an integration (docs/security-model.md, "Integrations"): CIDR ranges,
 * IPv4 and IPv6, stored in canonical form (`parseCidr` in shared/src/cidr.ts). The caller's
 * address is the one Express reports (`trust proxy` decides whether a forwarded address counts,
 * docs/operations.md); an IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, what a dual-stack
 * listener reports for IPv4 callers) is compared as its IPv4 address.
 *
 * An empty list allows every address: an integration is usable before its partner knows its
 * egress addresses, and the admin API and CLI show a warning for it (`integrationWarnings`).
 * A call whose address cannot be read is refused when the list is not empty.
 */

export type AllowlistDecision = { allowed: true } | { allowed: false; address: string | null };

export function allowlistDecision(integration: Pick<IntegrationRecord, 'ipAllowlist'>, ip: string | null): AllowlistDecision {
  if (integration.ipAllowlist.length === 0) return { allowed: true };
  if (ip !== null && addressInRanges(ip, integration.ipAllowlist)) return { allowed: true };
  return { allowed: false, address: ip === null ? null : canonicalAddress(ip) ?? ip.slice(0, 64) };
}
