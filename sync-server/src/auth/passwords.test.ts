import argon2 from 'argon2';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import {
  argon2Options, checkNewPassword, dummyPasswordHash, hashPassword, isCommonPassword, passwordNeedsRehash,
  verifyAgainstDummy, verifyPassword,
} from './passwords';

const account = { username: 'ana.lopez', displayName: 'Ana Lopez' };

function weakReason(password: string, who = account): string | null {
  try {
    checkNewPassword(password, who);
    return null;
  } catch (err) {
    if (err instanceof AppError && err.code === 'weak_password') return err.message;
    throw err;
  }
}

describe('new password rules (NIST SP 800-63B 5.1.1.2)', () => {
  it('refuses passwords shorter than 8 characters, counting code points', () => {
    expect(weakReason('k7#Qz!p')).toMatch(/at least 8/);
    // Seven emoji are 14 UTF-16 units but 7 characters.
    expect(weakReason('🚚📦🚚📦🚚📦🚚')).toMatch(/at least 8/);
    expect(weakReason('🚚📦🚚📦🚚📦🚚🗺')).toBeNull();
  });

  it('accepts long passphrases of 64 characters and more, up to 256', () => {
    const long = 'the depot van leaves at six and comes back when the last parcel is out '.repeat(3).slice(0, 200);
    expect(long.length).toBe(200);
    expect(weakReason(long.slice(0, 64))).toBeNull();
    expect(weakReason(long)).toBeNull();
    expect(weakReason('x'.repeat(128) + 'y'.repeat(128))).toBeNull();
    expect(weakReason('xy'.repeat(129))).toMatch(/at most 256/);
  });

  it('has no composition rules: lower-case words alone are fine', () => {
    expect(weakReason('purple lantern orchard')).toBeNull();
    expect(weakReason('zebrawindowcactus')).toBeNull();
  });

  it('refuses common passwords from the blocklist, in any letter case', () => {
    for (const p of ['password', 'Password1', 'PASSWORD1', '12345678', 'qwertyuiop', 'iloveyou', 'baseball']) {
      expect(isCommonPassword(p), p).toBe(true);
      expect(weakReason(p), p).toMatch(/commonly used/);
    }
    expect(isCommonPassword('purple lantern orchard')).toBe(false);
  });

  it('refuses passwords equal to or containing the username, or the name', () => {
    expect(weakReason('ana.lopez')).toMatch(/username/);
    expect(weakReason('ANA.LOPEZ-2026!')).toMatch(/username/);
    expect(weakReason('my name is Ana Lopez')).toMatch(/name/);
    expect(weakReason('analopez rocks')).toMatch(/name/);
    // A very short username only blocks the exact match, not every password containing it.
    expect(weakReason('bx', { username: 'bx', displayName: 'B X' })).toMatch(/at least 8/);
    expect(weakReason('bxbxbxbx7', { username: 'bxbxbxbx7', displayName: 'Q' })).toMatch(/username/);
    expect(weakReason('abxc purple lantern', { username: 'bx', displayName: 'B X' })).toBeNull();
  });

  it('refuses a single repeated character and the service name', () => {
    expect(weakReason('zzzzzzzzzzzz')).toMatch(/repeated/);
    expect(weakReason('Depotline-2026!')).toMatch(/service/);
  });
});

describe('argon2id hashing', () => {
  it('hashes with the OWASP parameters and verifies only the right password', async () => {
    const hash = await hashPassword('purple lantern orchard');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'purple lantern orchard')).toBe(true);
    expect(await verifyPassword(hash, 'purple lantern orchard ')).toBe(false);
    expect(passwordNeedsRehash(hash)).toBe(false);
  });

  it('normalizes Unicode so composed and decomposed accents are one password', async () => {
    const composed = 'caf\u00e9 au lait sur la table';
    const decomposed = 'cafe\u0301 au lait sur la table';
    const hash = await hashPassword(composed);
    expect(await verifyPassword(hash, decomposed)).toBe(true);
  });

  it('treats a malformed stored hash as a failed verification, not a crash', async () => {
    expect(await verifyPassword('not-a-hash', 'whatever')).toBe(false);
    expect(await verifyPassword('', 'whatever')).toBe(false);
    expect(passwordNeedsRehash('$2b$10$abcdefghijklmnopqrstuv')).toBe(true);
  });

  it('the dummy hash uses the same parameters as real hashes, so unknown users cost the same', async () => {
    expect(argon2.needsRehash(dummyPasswordHash, argon2Options)).toBe(false);
    expect(dummyPasswordHash.startsWith('$argon2id$')).toBe(true);
    expect(await verifyAgainstDummy('anything at all')).toBe(false);
  });
});
