import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where a webhook may be sent (OWASP SSRF Prevention Cheat Sheet, "Case 2": the destination is
 * given by a user). A receiver is an `https` URL whose host resolves only to public unicast
 * addresses: one loopback, private (RFC 1918, RFC 4193), link-local (169.254/16, where cloud
 * metadata answers, and fe80::/10), carrier-grade NAT, unspecified, multicast, reserved,
 * documentation or benchmarking address anywhere in the answer refuses the host. On top of the
 * ranges ipaddr.js knows, `deniedNetworks` names cloud host and metadata addresses that look
 * public or unique-local (Azure's 168.63.129.16, Alibaba's 100.100.100.200, AWS's
 * fd00:ec2::254) and the special-purpose blocks, so no allowance and no library update lets them
 * through. An IPv4-mapped IPv6 address is judged as the IPv4 address it maps, a NAT64 address
 * (64:ff9b::/96) as the IPv4 address it embeds; IPv4-compatible (::/96) and local-use NAT64
 * (64:ff9b:1::/48) addresses are refused.
 *
 * The check runs when a URL is saved (a clear error for the admin that never says what an
 * internal name resolves to) and again on every connection (`guardedLookup`): the address
 * checked is the address connected to, with no second lookup in between, so a name that
 * resolves elsewhere later (DNS rebinding) is refused then. Redirects are never followed
 * (webhooks/delivery.ts).
 *
 * `allowLoopback` (DEPOTLINE_WEBHOOK_ALLOW_LOOPBACK) lets receivers on this machine through,
 * over plain http too: for tests and single-host installs. It allows loopback only.
 * `allowCidrs` (DEPOTLINE_WEBHOOK_ALLOW_CIDRS) lets receivers in the listed private networks
 * through, over https: for on-premises receivers. Only RFC 1918 and unique-local networks may be
 * listed (config.ts checks), and the denied networks stay denied inside them.
 */

export interface TargetPolicy {
  allowLoopback: boolean;
  /** Private networks (CIDR) receivers may be in; empty by default. */
  allowCidrs?: readonly string[];
}

/** A receiver the guard refused; `reason` is safe to show to the admin. */
export class WebhookTargetRefused extends Error {
  override name = 'WebhookTargetRefused';
  readonly code = 'WEBHOOK_TARGET_REFUSED';
  constructor(readonly reason: string) {
    super(reason);
  }
}

const rangeWords: Partial<Record<string, string>> = {
  loopback: 'a loopback address',
  private: 'a private network address',
  uniqueLocal: 'a private network address (IPv6 unique local)',
  linkLocal: 'a link-local address (where cloud metadata services answer)',
  carrierGradeNat: 'a carrier-grade NAT address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
};

/** Refused whatever ipaddr.js calls them and whatever is allowed: cloud host and metadata services, special-purpose blocks. */
export const deniedNetworks: readonly (readonly [cidr: string, words: string])[] = [
  ['168.63.129.16/32', 'a cloud host service address (Azure)'],
  ['100.100.100.200/32', 'a cloud metadata address (Alibaba Cloud)'],
  ['fd00:ec2::254/128', 'a cloud metadata address (AWS, IPv6)'],
  ['192.0.0.0/24', 'a special-purpose address (IETF protocol assignments)'],
  ['198.18.0.0/15', 'a special-purpose address (benchmarking)'],
  ['240.0.0.0/4', 'a special-purpose address (reserved)'],
  ['64:ff9b:1::/48', 'a special-purpose address (local-use NAT64)'],
];
const denied = deniedNetworks.map(([cidr, words]) => ({ net: ipaddr.parseCIDR(cidr), words }));

const inNetwork = (ip: ipaddr.IPv4 | ipaddr.IPv6, net: [ipaddr.IPv4 | ipaddr.IPv6, number]) => ip.kind() === net[0].kind() && ip.match(net);

/** Whether `ip` lies in one of the allowed private networks. */
function allowedNetwork(ip: ipaddr.IPv4 | ipaddr.IPv6, policy: TargetPolicy): boolean {
  return (policy.allowCidrs ?? []).some((cidr) => inNetwork(ip, ipaddr.parseCIDR(cidr)));
}

const nat64 = ipaddr.parseCIDR('64:ff9b::/96');
const v4Compatible = ipaddr.parseCIDR('::/96');

/** What kind of refused address `ip` is ("a loopback address"); null when it may be connected to. */
function refusedKindOf(parsed: ipaddr.IPv4 | ipaddr.IPv6, policy: TargetPolicy): string | null {
  let ip = parsed;
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    else if (inNetwork(v6, nat64)) {
      // NAT64: the gateway connects to the IPv4 address in the last 32 bits; judge that one, with no allowance (public only).
      const kind = refusedKindOf(new ipaddr.IPv4(v6.toByteArray().slice(12)), { allowLoopback: false });
      return kind === null ? null : `${kind} (through NAT64)`;
    } else if (inNetwork(v6, v4Compatible) && v6.range() !== 'loopback' && v6.range() !== 'unspecified') {
      return 'an IPv4-compatible IPv6 address (deprecated, ::/96)';
    }
  }
  const range = ip.range();
  if (range === 'broadcast') return rangeWords[range]!;
  const deny = denied.find((d) => inNetwork(ip, d.net));
  if (deny) return deny.words;
  if (range === 'unicast') return null;
  if (range === 'loopback' && policy.allowLoopback) return null;
  if ((range === 'private' || range === 'uniqueLocal') && allowedNetwork(ip, policy)) return null;
  return rangeWords[range] ?? `a special-purpose address (${range})`;
}

function refusedKind(address: string, policy: TargetPolicy): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  return refusedKindOf(ipaddr.parse(address), policy);
}

/** Why `address` may not be connected to ("10.0.0.1 is a private network address"); null when it may. */
export function addressRefusal(address: string, policy: TargetPolicy): string | null {
  const kind = refusedKind(address, policy);
  return kind === null ? null : `${address} is ${kind}`;
}

/** The host of a URL as an IP address when it is one (`[::1]` -> `::1`), else null. */
export function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return net.isIP(bare) !== 0 ? bare : null;
}

/** Plain http is for loopback receivers only, and only with the allowance on. */
function schemeRefusal(url: URL, policy: TargetPolicy): string | null {
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && policy.allowLoopback) return null;
  return policy.allowLoopback ? 'a webhook URL is https (or http to this machine)' : 'a webhook URL is https';
}

/** The addresses a connection to `url` may use: any refused one refuses all (and http needs loopback). */
function answerRefusal(url: URL, addresses: readonly string[], policy: TargetPolicy): string | null {
  if (addresses.length === 0) return `${url.hostname} has no address`;
  for (const address of addresses) {
    const kind = refusedKind(address, policy);
    // A name's answer is not repeated to the admin: the check must not tell what internal names resolve to.
    if (kind !== null) return literalAddress(url.hostname) ? `${address} is ${kind}` : `${url.hostname} resolves to a private or reserved address`;
    if (url.protocol === 'http:' && ipaddr.process(address).range() !== 'loopback') {
      return `${url.hostname} is not on this machine: plain http is for loopback receivers only, use https`;
    }
  }
  return null;
}

export type ResolveAll = (hostname: string) => Promise<string[]>;

const resolveWithSystem: ResolveAll = async (hostname) => (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The save-time check: the URL's form (https, no credentials in it) and every address its host
 * resolves to now. Throws `WebhookTargetRefused` with the reason.
 */
export async function checkWebhookUrl(text: string, policy: TargetPolicy, resolve: ResolveAll = resolveWithSystem): Promise<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookTargetRefused('not a URL');
  }
  const scheme = schemeRefusal(url, policy);
  if (scheme) throw new WebhookTargetRefused(scheme);
  if (url.username !== '' || url.password !== '') throw new WebhookTargetRefused('a webhook URL carries no user name or password (the signature authenticates the sender)');
  if (url.hash !== '') throw new WebhookTargetRefused('a webhook URL has no #fragment');
  const literal = literalAddress(url.hostname);
  let addresses: string[];
  if (literal) addresses = [literal];
  else {
    try {
      addresses = await resolve(url.hostname);
    } catch {
      throw new WebhookTargetRefused(`${url.hostname} does not resolve`);
    }
  }
  const refusal = answerRefusal(url, addresses, policy);
  if (refusal) throw new WebhookTargetRefused(refusal);
  return url;
}

/**
 * The connect-time check, as the `lookup` of a request: resolves the host once, refuses the
 * connection if any address is refused, and hands the checked addresses to the socket, which
 * connects to one of them. IP-literal hosts never reach a lookup: check them with
 * `connectRefusal` first.
 */
export function guardedLookup(url: URL, policy: TargetPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true, verbatim: true, ...(options.family ? { family: options.family } : {}) }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const refusal = answerRefusal(url, addresses.map((a) => a.address), policy);
      if (refusal) return callback(new WebhookTargetRefused(refusal), '', 0);
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/** Before connecting: the scheme, and an IP-literal host (which no lookup sees). Null when the request may go on. */
export function connectRefusal(url: URL, policy: TargetPolicy): string | null {
  const scheme = schemeRefusal(url, policy);
  if (scheme) return scheme;
  const literal = literalAddress(url.hostname);
  return literal ? answerRefusal(url, [literal], policy) : null;
}
