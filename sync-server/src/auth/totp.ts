import crypto from 'node:crypto';

/**
 * HOTP (RFC 4226) and TOTP (RFC 6238) on node:crypto, plus the RFC 4648 base32 that
 * authenticator apps use for seeds. Nothing here touches storage: callers keep the seed
 * encrypted (ASVS 2.8.2) and the last accepted time step (ASVS 2.8.4).
 */

export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface OtpOptions {
  algorithm: TotpAlgorithm;
  digits: 6 | 8;
}

export interface TotpOptions extends OtpOptions {
  /** Seconds per step; RFC 6238 recommends 30. */
  stepS: number;
}

/** What authenticator apps assume when an otpauth URI says nothing else. */
export const defaultTotpOptions: TotpOptions = { algorithm: 'SHA1', digits: 6, stepS: 30 };

/** RFC 4226 section 4 R6: at least 128 bits, 160 recommended; 20 bytes matches SHA-1's block use. */
export const totpSecretBytes = 20;

const nodeHash: Record<TotpAlgorithm, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

/* ---------------------------------------------------------------------------- base32 */

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export class Base32Error extends Error {
  override name = 'Base32Error';
}

/** RFC 4648 section 6. Padding is left off by default: otpauth URIs do not use it. */
export function base32Encode(data: Uint8Array, { pad = false }: { pad?: boolean } = {}): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  if (pad) while (out.length % 8 !== 0) out += '=';
  return out;
}

/**
 * Decodes RFC 4648 base32, case-insensitively, with or without padding, ignoring the spaces
 * apps show between groups. Anything else outside the alphabet is an error, not skipped.
 */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s-]/g, '').toUpperCase().replace(/=+$/, '');
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of clean) {
    const value = alphabet.indexOf(ch);
    if (value < 0) throw new Base32Error('not base32 text');
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bytes.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  // Leftover bits must be zero padding of the last character (RFC 4648 section 3.5: canonical).
  if (buffer !== 0) throw new Base32Error('base32 text has trailing bits');
  return Buffer.from(bytes);
}

/* ------------------------------------------------------------------------- HOTP/TOTP */

export function generateTotpSecret(): Buffer {
  return crypto.randomBytes(totpSecretBytes);
}

/** RFC 4226 section 5.3: HMAC over the 8-byte big-endian counter, dynamic truncation. */
export function hotp(key: Uint8Array, counter: number | bigint, { algorithm, digits }: OtpOptions): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac(nodeHash[algorithm], key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** RFC 6238 section 4.2: T = floor((now - T0) / X) with T0 = 0. */
export function totpStep(nowMs: number, stepS = defaultTotpOptions.stepS): number {
  return Math.floor(nowMs / 1000 / stepS);
}

export function totp(key: Uint8Array, nowMs: number, options: TotpOptions = defaultTotpOptions): string {
  return hotp(key, totpStep(nowMs, options.stepS), options);
}

export type TotpVerification =
  | { ok: true; step: number }
  /**
   * `replayed`: the code is right but for a step already accepted (ASVS 2.8.4); the caller
   * audits it (2.8.5), since it suggests the code was observed by someone else.
   */
  | { ok: false; reason: 'invalid' | 'replayed' };

/**
 * Drift window, in steps either side of now. RFC 6238 section 5.2 recommends at most one step
 * of network delay; more widens the window for guessing.
 */
export const totpDriftSteps = 1;

/**
 * Checks a code for steps now-1..now+1, accepting only a step later than `lastAcceptedStep`
 * so each code works once. The caller stores the returned step, conditionally on it still
 * being later than the stored one (a concurrent login with the same code must lose).
 */
export function verifyTotp(
  secret: Uint8Array | string,
  code: string,
  nowMs: number,
  lastAcceptedStep: number | null,
  options: TotpOptions = defaultTotpOptions,
): TotpVerification {
  const key = typeof secret === 'string' ? base32Decode(secret) : secret;
  if (!new RegExp(`^\\d{${options.digits}}$`).test(code)) return { ok: false, reason: 'invalid' };
  const given = Buffer.from(code, 'ascii');
  const current = totpStep(nowMs, options.stepS);
  let accepted: number | null = null;
  let replayed = false;
  // Every candidate is computed and compared in constant time, so timing does not say which
  // step (if any) matched.
  for (let step = current - totpDriftSteps; step <= current + totpDriftSteps; step++) {
    if (step < 0) continue;
    const matches = crypto.timingSafeEqual(Buffer.from(hotp(key, step, options), 'ascii'), given);
    if (!matches) continue;
    if (lastAcceptedStep !== null && step <= lastAcceptedStep) replayed = true;
    else accepted ??= step;
  }
  if (accepted !== null) return { ok: true, step: accepted };
  return { ok: false, reason: replayed ? 'replayed' : 'invalid' };
}

/**
 * The Key URI Format of Google Authenticator (github.com/google/google-authenticator/wiki/
 * Key-Uri-Format), which every authenticator app reads from a QR code. The issuer goes in
 * both the label prefix and the parameter, as that document recommends.
 */
export function otpauthUri(input: {
  issuer: string;
  account: string;
  secret: string | Uint8Array;
  options?: TotpOptions;
}): string {
  const options = input.options ?? defaultTotpOptions;
  const secret = typeof input.secret === 'string' ? input.secret : base32Encode(input.secret);
  const label = `${encodeURIComponent(input.issuer)}:${encodeURIComponent(input.account)}`;
  const params = new URLSearchParams({
    secret,
    issuer: input.issuer,
    algorithm: options.algorithm,
    digits: String(options.digits),
    period: String(options.stepS),
  });
  return `otpauth://totp/${label}?${params.toString()}`;
}
