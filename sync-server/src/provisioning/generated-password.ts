import crypto from 'node:crypto';

// No 0/o, 1/l/i: the password is read off a terminal and typed once.
const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';

/**
 * A random password for an account an administrator creates: four groups of five characters,
 * about 99 bits, well past NIST SP 800-63B's floor and easy to type. Printed once; only its
 * argon2id hash is stored.
 */
export function generatePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let group = '';
    for (let i = 0; i < 5; i++) group += alphabet[crypto.randomInt(alphabet.length)];
    groups.push(group);
  }
  return groups.join('-');
}
