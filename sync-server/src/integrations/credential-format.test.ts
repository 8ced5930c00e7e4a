import { describe, expect, it } from 'vitest';
import { checksum, hashSecret, mintSecret, parseSecret, randomBase62, secretLength, secretMatches } from './credential-format';

/** The text form of keys, tokens and client secrets: what a scanner, a typo and a forger meet. */
describe('integration credential format', () => {
  it('mints each kind with its prefix, a 256-bit secret and a checksum, and parses it back', () => {
    for (const kind of ['apiKey', 'accessToken', 'clientSecret'] as const) {
      const minted = mintSecret(kind);
      const parsed = parseSecret(minted.text);
      expect(parsed).toMatchObject({ ok: true, kind, id: minted.id });
      if (!parsed.ok) throw new Error('unreachable');
      expect(parsed.secret).toHaveLength(secretLength);
      expect(secretLength * Math.log2(62)).toBeGreaterThanOrEqual(256);
      expect(hashSecret(parsed.secret)).toBe(minted.secretHash);
      expect(secretMatches(parsed.secret, minted.secretHash)).toBe(true);
    }
    expect(mintSecret('apiKey').text).toMatch(/^dlk_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$/);
    expect(mintSecret('accessToken').text).toMatch(/^dlt_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$/);
    expect(mintSecret('clientSecret').text).toMatch(/^dls_[0-9A-Za-z]{49}$/);
  });

  it('the checksum catches every single-character change and every swap of neighbours in a key', () => {
    const { text } = mintSecret('apiKey');
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 4; i < text.length; i++) {
      if (text[i] === '_') continue;
      const other = alphabet[(alphabet.indexOf(text[i]!) + 1 + (i % 61)) % 62]!;
      const changed = text.slice(0, i) + other + text.slice(i + 1);
      expect(parseSecret(changed).ok, `position ${i}`).toBe(false);
      if (i + 1 < text.length && text[i + 1] !== '_' && text[i] !== text[i + 1]) {
        const swapped = text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2);
        expect(parseSecret(swapped).ok, `swap at ${i}`).toBe(false);
      }
    }
  });

  it('refuses look-alikes: wrong prefix, wrong lengths, other characters; keeps only a well-formed id for the audit', () => {
    const { text, id } = mintSecret('apiKey');
    expect(parseSecret(text.replace(/^dlk_/, 'dlx_'))).toMatchObject({ ok: false, reason: 'malformed', id: null });
    expect(parseSecret(text.slice(0, -1))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseSecret(`${text}0`)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseSecret(text.replace(/.$/, '!'))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseSecret(`${text.slice(0, -6)}${checksum('something else')}`)).toMatchObject({ ok: false, reason: 'checksum', kind: 'apiKey', id });
    expect(parseSecret('')).toMatchObject({ ok: false, reason: 'malformed', kind: null });
  });

  it('draws base62 characters evenly (no modulo bias)', () => {
    const counts = new Map<string, number>();
    const sample = randomBase62(62 * 400);
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 400 expected per character; a biased draw (bytes mod 62) would give the first 8 about 25% more.
    for (const n of counts.values()) expect(n).toBeGreaterThan(280);
    const first8 = [...'01234567'].reduce((sum, c) => sum + counts.get(c)!, 0) / 8;
    const rest = [...counts.entries()].filter(([c]) => !'01234567'.includes(c)).reduce((sum, [, n]) => sum + n, 0) / 54;
    expect(first8 / rest).toBeLessThan(1.15);
  });
});
