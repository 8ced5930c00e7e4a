import argon2 from 'argon2';
import { maxPasswordLength, minPasswordLength } from '@depotline/shared';
import { dictionary } from '@zxcvbn-ts/language-common';
import { weakPassword } from '../errors';

/**
 * OWASP Password Storage Cheat Sheet, argon2id "m=19456 (19 MiB), t=2, p=1": the lowest-memory
 * of its equivalent settings, so a burst of sign-ins cannot exhaust the server's memory.
 */
export const argon2Options = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * An argon2id hash, with exactly `argon2Options`, of 32 random bytes nobody kept. Verifying an
 * unknown username against it costs the same as verifying a real one, so response time does
 * not tell which usernames exist (ASVS 2.2.1 / 3.2.x user enumeration). A test pins its
 * parameters to `argon2Options`.
 */
export const dummyPasswordHash = '$argon2id$v=19$m=19456,t=2,p=1$r3rVF7RBYD3buXiTVKveoA$0e1KybReTLA5sGmcb7QcrDbduY4kreZoBHA76msTTVM';

/**
 * NIST SP 800-63B 5.1.1.2: passwords SHOULD be Unicode-normalized before hashing, so the same
 * password typed on two keyboards (composed vs decomposed accents) verifies.
 */
const normalize = (password: string) => password.normalize('NFKC');

export async function hashPassword(password: string): Promise<string> {
  return argon2.hash(normalize(password), argon2Options);
}

/** False for a wrong password and for a stored hash that is not a valid argon2 string. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, normalize(password));
  } catch {
    return false;
  }
}

/** Spends one verification's worth of time and always fails (unknown usernames). */
export async function verifyAgainstDummy(password: string): Promise<false> {
  await verifyPassword(dummyPasswordHash, password);
  return false;
}

/** True when the hash was made with older parameters and should be replaced at next sign-in. */
export function passwordNeedsRehash(hash: string): boolean {
  try {
    return !hash.startsWith('$argon2id$') || argon2.needsRehash(hash, argon2Options);
  } catch {
    return true;
  }
}

/**
 * The blocklist of NIST SP 800-63B 5.1.1.2 ("passwords obtained from previous breach corpuses,
 * dictionary words"): zxcvbn's list of common passwords, lower-cased, so `Password1` is caught
 * by its entry `password1`.
 */
let blocklist: ReadonlySet<string> | undefined;
function commonPasswords(): ReadonlySet<string> {
  blocklist ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return blocklist;
}

export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(normalize(password).toLowerCase());
}

const serviceName = 'depotline';

/**
 * Checks a password a user chooses (NIST SP 800-63B 5.1.1.2): length limits, no composition
 * rules, not a common password, not derived from the account's own name or the service name.
 * Throws `weak_password` with a message saying what to change.
 */
export function checkNewPassword(password: string, account: { username: string; displayName: string }): void {
  // NIST counts each Unicode code point as one character.
  const length = [...normalize(password)].length;
  if (length < minPasswordLength) throw weakPassword(`Use at least ${minPasswordLength} characters.`);
  if (password.length > maxPasswordLength) throw weakPassword(`Use at most ${maxPasswordLength} characters.`);

  const lower = normalize(password).toLowerCase();
  if (new Set(lower).size === 1) throw weakPassword('Do not use a single repeated character.');
  if (isCommonPassword(password)) {
    throw weakPassword('This password is on a list of commonly used passwords. Choose one that is harder to guess, such as a few unrelated words.');
  }

  const username = account.username.toLowerCase();
  // A one- or two-letter username would make "contains" reject nearly everything; equality
  // still applies to it.
  if (lower === username || (username.length >= 3 && lower.includes(username))) {
    throw weakPassword('The password must not contain the username.');
  }
  const name = account.displayName.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
  if (name.length >= 3 && lower.replace(/\s+/g, '').includes(name)) {
    throw weakPassword('The password must not contain your name.');
  }
  if (lower.includes(serviceName)) throw weakPassword('The password must not contain the name of the service.');
}
