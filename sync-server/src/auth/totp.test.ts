import { describe, expect, it } from 'vitest';
import {
  Base32Error, base32Decode, base32Encode, defaultTotpOptions, generateTotpSecret, hotp, otpauthUri, totp,
  type TotpAlgorithm, totpStep, verifyTotp,
} from './totp';

// RFC 6238 Appendix B. The reference code's seeds are the ASCII digits repeated to 20, 32 and
// 64 bytes (the prose says 20 bytes for all three; the published values need the longer ones).
const seeds: Record<TotpAlgorithm, Buffer> = {
  SHA1: Buffer.from('12345678901234567890', 'ascii'),
  SHA256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  SHA512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
};

const rfc6238Vectors: { t: number; SHA1: string; SHA256: string; SHA512: string }[] = [
  { t: 59, SHA1: '94287082', SHA256: '46119246', SHA512: '90693936' },
  { t: 1111111109, SHA1: '07081804', SHA256: '68084774', SHA512: '25091201' },
  { t: 1111111111, SHA1: '14050471', SHA256: '67062674', SHA512: '99943326' },
  { t: 1234567890, SHA1: '89005924', SHA256: '91819424', SHA512: '93441116' },
  { t: 2000000000, SHA1: '69279037', SHA256: '90698825', SHA512: '38618901' },
  { t: 20000000000, SHA1: '65353130', SHA256: '77737706', SHA512: '47863826' },
];

// RFC 4226 Appendix D: the SHA-1 seed above, counters 0..9, 6 digits.
const rfc4226Vectors = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];

describe('RFC 6238 Appendix B test vectors', () => {
  for (const v of rfc6238Vectors) {
    for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
      it(`${algorithm} at T=${v.t}s gives ${v[algorithm]}`, () => {
        expect(totp(seeds[algorithm], v.t * 1000, { algorithm, digits: 8, stepS: 30 })).toBe(v[algorithm]);
      });
    }
  }

  it('verifies each vector through verifyTotp as well', () => {
    for (const v of rfc6238Vectors) {
      for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
        const result = verifyTotp(seeds[algorithm], v[algorithm], v.t * 1000, null, { algorithm, digits: 8, stepS: 30 });
        expect(result).toEqual({ ok: true, step: Math.floor(v.t / 30) });
      }
    }
  });
});

describe('RFC 4226 HOTP test vectors', () => {
  rfc4226Vectors.forEach((code, counter) => {
    it(`counter ${counter} gives ${code}`, () => {
      expect(hotp(seeds.SHA1, counter, { algorithm: 'SHA1', digits: 6 })).toBe(code);
    });
  });
});

describe('base32 (RFC 4648)', () => {
  // RFC 4648 section 10.
  const vectors: [string, string][] = [
    ['', ''], ['f', 'MY======'], ['fo', 'MZXQ===='], ['foo', 'MZXW6==='], ['foob', 'MZXW6YQ='],
    ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI======'],
  ];
  it.each(vectors)('encodes %j as %s and back', (plain, encoded) => {
    expect(base32Encode(Buffer.from(plain), { pad: true })).toBe(encoded);
    expect(base32Decode(encoded).toString()).toBe(plain);
    expect(base32Decode(encoded.replace(/=/g, '').toLowerCase()).toString()).toBe(plain);
  });

  it('round-trips random secrets without padding', () => {
    for (let i = 0; i < 50; i++) {
      const secret = generateTotpSecret();
      expect(secret).toHaveLength(20);
      const text = base32Encode(secret);
      expect(text).toMatch(/^[A-Z2-7]{32}$/);
      expect(base32Decode(text).equals(secret)).toBe(true);
    }
  });

  it('rejects characters outside the alphabet and non-canonical endings', () => {
    expect(() => base32Decode('MZXW1')).toThrow(Base32Error);
    expect(() => base32Decode('MZXW6YTB0')).toThrow(Base32Error);
    expect(base32Decode('MY').toString()).toBe('f');
    // 'MZ' also starts with "f" but leaves non-zero bits over: not the canonical encoding.
    expect(() => base32Decode('MZ')).toThrow(Base32Error);
  });
});

describe('verifyTotp: drift and replay', () => {
  const secret = generateTotpSecret();
  const t0 = 1_800_000_000_000 - (1_800_000_000_000 % 30_000) + 5_000; // 5 s into a step
  const step = totpStep(t0);
  const codeAt = (s: number) => hotp(secret, s, defaultTotpOptions);

  it('accepts the current code and says which step matched', () => {
    expect(verifyTotp(secret, totp(secret, t0), t0, null)).toEqual({ ok: true, step });
    expect(verifyTotp(base32Encode(secret), totp(secret, t0), t0, null)).toEqual({ ok: true, step });
  });

  it('accepts one step of clock drift either way, but not two', () => {
    expect(verifyTotp(secret, codeAt(step - 1), t0, null)).toEqual({ ok: true, step: step - 1 });
    expect(verifyTotp(secret, codeAt(step + 1), t0, null)).toEqual({ ok: true, step: step + 1 });
    expect(verifyTotp(secret, codeAt(step - 2), t0, null)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyTotp(secret, codeAt(step + 2), t0, null)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('never accepts a step at or before the last accepted one, and calls it a replay', () => {
    expect(verifyTotp(secret, codeAt(step), t0, step)).toEqual({ ok: false, reason: 'replayed' });
    expect(verifyTotp(secret, codeAt(step - 1), t0, step - 1)).toEqual({ ok: false, reason: 'replayed' });
    // A code of an earlier step inside the window is a replay once a later step was used.
    expect(verifyTotp(secret, codeAt(step - 1), t0, step)).toEqual({ ok: false, reason: 'replayed' });
    // The next step's code still works after the current one was used.
    expect(verifyTotp(secret, codeAt(step + 1), t0, step)).toEqual({ ok: true, step: step + 1 });
  });

  it('rejects wrong codes and malformed input as invalid', () => {
    const right = codeAt(step);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    for (const code of [wrong, '', '12345', '1234567', 'abcdef', `${right} `]) {
      expect(verifyTotp(secret, code, t0, null)).toEqual({ ok: false, reason: 'invalid' });
    }
  });
});

describe('otpauth URI', () => {
  it('carries issuer, account and the base32 secret as authenticator apps expect', () => {
    const secret = generateTotpSecret();
    const uri = otpauthUri({ issuer: 'Depotline', account: 'ana.lopez@depot-north', secret });
    expect(uri.startsWith('otpauth://totp/Depotline:ana.lopez%40depot-north?')).toBe(true);
    const params = new URL(uri).searchParams;
    expect(params.get('secret')).toBe(base32Encode(secret));
    expect(params.get('issuer')).toBe('Depotline');
    expect(params.get('algorithm')).toBe('SHA1');
    expect(params.get('digits')).toBe('6');
    expect(params.get('period')).toBe('30');
  });
});
