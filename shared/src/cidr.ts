import ipaddr from 'ipaddr.js';

/*
 * Address ranges (CIDR, RFC 4632 and RFC 4291 section 2.3) for integration allowlists, parsed
 * with ipaddr.js so IPv4 and IPv6 follow one set of rules. An IPv4-mapped IPv6 form
 * (`::ffff:192.0.2.7`, RFC 4291 section 2.5.5.2) is the IPv4 address it maps: a dual-stack
 * listener reports IPv4 callers that way, and a range written either way must match them.
 */

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export type CidrParse = { ok: true; cidr: string } | { ok: false; message: string };

/** An address as the IPv4 address it maps when it is an IPv4-mapped IPv6 address. */
function unmapped(address: Address): Address {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

function networkOf(address: Address, prefix: number): Address {
  const bytes = address.toByteArray();
  const out = bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return keep === 0 ? 0 : b & (0xff << (8 - keep)) & 0xff;
  });
  return ipaddr.fromByteArray(out);
}

function show(address: Address): string {
  return address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}

/**
 * Reads one allowlist entry: `192.0.2.0/24`, `2001:db8::/32`, or a single address (taken as /32
 * or /128). The answer is the canonical form (an IPv4-mapped range as its IPv4 range). A range
 * with host bits set (`10.0.0.7/8`) is refused with the range it probably means, since allowing
 * more than was written is the wrong way to guess; zone ids (`fe80::1%eth0`) are refused.
 */
export function parseCidr(text: string): CidrParse {
  const value = text.trim();
  if (value.length === 0 || value.length > 64) return { ok: false, message: `"${value.slice(0, 64)}" is not an address range` };
  if (value.includes('%')) return { ok: false, message: `"${value}": zone ids (%...) are not allowed in an allowlist` };
  const slash = value.indexOf('/');
  const addressText = slash < 0 ? value : value.slice(0, slash);
  if (!ipaddr.isValid(addressText) || (!addressText.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(addressText))) {
    return { ok: false, message: `"${value}" is not an IPv4 or IPv6 address range (write it as 192.0.2.0/24 or 2001:db8::/32)` };
  }
  const parsed = ipaddr.parse(addressText);
  const max = parsed.kind() === 'ipv4' ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const bits = value.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return { ok: false, message: `"${value}": the prefix length must be 0 to ${max}` };
    prefix = Number(bits);
  }
  let address: Address = parsed;
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    if (prefix < 96) return { ok: false, message: `"${value}": an IPv4-mapped range needs a prefix of at least 96 (write the IPv4 range instead)` };
    address = (parsed as ipaddr.IPv6).toIPv4Address();
    prefix -= 96;
  }
  const network = networkOf(address, prefix);
  if (show(network) !== show(address)) {
    return { ok: false, message: `"${value}" has host bits set: did you mean ${show(network)}/${prefix}?` };
  }
  return { ok: true, cidr: `${show(network)}/${prefix}` };
}

/** The address in canonical form (IPv4-mapped as IPv4), or null when it is not an address. */
export function canonicalAddress(text: string): string | null {
  const value = text.trim();
  if (!ipaddr.isValid(value)) return null;
  return show(unmapped(ipaddr.parse(value)));
}

/** Whether the address lies in one of the (canonical) ranges. An unreadable address matches none. */
export function addressInRanges(addressText: string, cidrs: readonly string[]): boolean {
  if (!ipaddr.isValid(addressText.trim())) return false;
  const address = unmapped(ipaddr.parse(addressText.trim()));
  return cidrs.some((cidr) => {
    const range = ipaddr.parseCIDR(cidr);
    const network = unmapped(range[0]);
    const bits = range[0].kind() === network.kind() ? range[1] : range[1] - 96;
    return network.kind() === address.kind() && address.match(network, bits);
  });
}
