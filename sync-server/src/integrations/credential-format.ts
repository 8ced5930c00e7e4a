import crypto from 'node:crypto';
import zlib from 'node:zlib';

/**
 * The text form of every integration secret: API keys, OAuth access tokens and OAuth client
 * secrets. Modelled on GitHub's token format: a readable prefix naming the product and the kind
 * (so a leaked value is recognised by people and secret scanners), a random part, and a CRC32
 * checksum of everything before it (so a scanner can tell a real key from a look-alike without
 * asking us, and a mistyped key is refused before any database read).
 *
 *   dlk_<id: 16>_<secret: 43><crc32: 6>   API key; its id is `dlk_<id>`, the key's own beginning
 *   dlt_<id: 16>_<secret: 43><crc32: 6>   OAuth 2.0 access token; id `dlt_<id>`
 *   dls_<secret: 43><crc32: 6>            OAuth 2.0 client secret (the client id names it)
 *   dlc_<id: 16>                          OAuth 2.0 client id (not a secret)
 *
 * All parts are base62, so a key survives copy and paste, URLs and shells, and a double-click
 * selects all of it. The secret is 43 characters drawn uniformly from 62: 43 x log2(62) = 256.03
 * bits. The public id (prefix and id part: what lists, logs and the audit show) finds the stored row; only the SHA-256 of the secret is stored, and it is
 * compared in constant time. A plain hash (not a password hash) is right here: the secret is
 * random and 256 bits long, so there is nothing to guess offline.
 */

const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const publicIdLength = 16;
export const secretLength = 43;
const checksumLength = 6;
const b62 = (n: number) => `[0-9A-Za-z]{${n}}`;

export const credentialPrefixes = { apiKey: 'dlk', accessToken: 'dlt', clientSecret: 'dls', clientId: 'dlc' } as const;
export type SecretKind = 'apiKey' | 'accessToken' | 'clientSecret';

/** `n` base62 characters, each uniform: bytes of 248 and above are dropped (248 = 4 x 62). */
export function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const byte of crypto.randomBytes(n + 8)) {
      if (byte < 248) out += alphabet[byte % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

/** CRC32 (the zlib polynomial) as 6 base62 characters, zero-padded: 62^6 > 2^32. */
export function checksum(text: string): string {
  let value = zlib.crc32(text);
  let out = '';
  for (let i = 0; i < checksumLength; i++) {
    out = alphabet[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

export const hashSecret = (secret: string): string => crypto.hash('sha256', secret, 'hex');

/** Constant-time comparison of a presented secret with a stored hash (both hashed to 32 bytes first). */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && crypto.timingSafeEqual(presented, stored);
}

/** A hash no secret has: compared against when the id is unknown, so both paths do the same work. */
export const unknownSecretHash = hashSecret(`unknown:${randomBase62(secretLength)}`);

export interface MintedSecret {
  /** The whole value, shown once and never stored. */
  text: string;
  /** The row id (`dlk_...`, `dlt_...`: the public beginning); empty for a client secret. */
  id: string;
  secretHash: string;
}

export function mintSecret(kind: SecretKind): MintedSecret {
  const id = kind === 'clientSecret' ? '' : `${credentialPrefixes[kind]}_${randomBase62(publicIdLength)}`;
  const secret = randomBase62(secretLength);
  const body = `${id ? `${id}_` : `${credentialPrefixes[kind]}_`}${secret}`;
  return { text: body + checksum(body), id, secretHash: hashSecret(secret) };
}

export const newClientId = (): string => `${credentialPrefixes.clientId}_${randomBase62(publicIdLength)}`;

export type ParsedSecret =
  | { ok: true; kind: SecretKind; id: string; secret: string }
  /** `id` is set when the value had a well-formed public id (safe to audit). */
  | { ok: false; reason: 'malformed' | 'checksum'; kind: SecretKind | null; id: string | null };

/** The public id of a key or token, as stored and shown (`dlk_` + 16 base62). */
export const isPublicId = (kind: 'apiKey' | 'accessToken' | 'clientId', text: string): boolean =>
  new RegExp(`^${credentialPrefixes[kind]}_${b62(publicIdLength)}$`).test(text);

const shapes: readonly { kind: SecretKind; pattern: RegExp }[] = [
  { kind: 'apiKey', pattern: new RegExp(`^((${credentialPrefixes.apiKey}_${b62(publicIdLength)})_(${b62(secretLength)}))(${b62(checksumLength)})$`) },
  { kind: 'accessToken', pattern: new RegExp(`^((${credentialPrefixes.accessToken}_${b62(publicIdLength)})_(${b62(secretLength)}))(${b62(checksumLength)})$`) },
  { kind: 'clientSecret', pattern: new RegExp(`^(${credentialPrefixes.clientSecret}_()(${b62(secretLength)}))(${b62(checksumLength)})$`) },
];

/** Splits a presented value into kind, public id and secret, checking shape and checksum only. */
export function parseSecret(text: string): ParsedSecret {
  for (const { kind, pattern } of shapes) {
    const m = pattern.exec(text);
    if (!m) continue;
    const [, body, id, secret, sum] = m as unknown as [string, string, string, string, string];
    if (checksum(body) !== sum) return { ok: false, reason: 'checksum', kind, id: id || null };
    return { ok: true, kind, id, secret };
  }
  const prefix = Object.entries(credentialPrefixes).find(([, p]) => text.startsWith(`${p}_`));
  return { ok: false, reason: 'malformed', kind: prefix && prefix[0] !== 'clientId' ? (prefix[0] as SecretKind) : null, id: null };
}

export const isClientId = (text: string): boolean => isPublicId('clientId', text);
