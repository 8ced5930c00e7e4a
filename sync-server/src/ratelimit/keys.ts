import crypto from 'node:crypto';
import net from 'node:net';

/**
 * The rate-limit key of a client address: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by
 * its /64 prefix, since one subscriber usually holds a whole /64 and could rotate through it.
 */
export function ipRateKey(ip: string | null): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]!.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * The rate-limit key of a secret (a bearer credential, a username typed at sign-in): its
 * SHA-256, so neither Redis nor a memory dump holds a token or a password typed into the
 * username field.
 */
export const secretRateKey = (secret: string): string => crypto.createHash('sha256').update(secret).digest('base64url');
