import crypto from 'node:crypto';
import { KeytarVault } from '../vault/keytar-vault';

/**
 * Test support for the real OS keychain. `npm test` runs the suite in a private D-Bus session
 * with an unlocked gnome-keyring and sets DEPOTLINE_TEST_KEYRING=1; without it these tests
 * fail with a clear message rather than passing by skipping.
 */
export function requireTestKeyring(): void {
  if (process.env['DEPOTLINE_TEST_KEYRING'] !== '1') {
    throw new Error('DEPOTLINE_TEST_KEYRING is not set: run the suite with `npm test`, which starts a private, unlocked gnome-keyring.');
  }
}

/** A vault on a service name of its own, so tests never touch a real profile's entries. */
export function testVault(): { vault: KeytarVault; service: string } {
  const service = `Depotline-test-${crypto.randomBytes(6).toString('hex')}`;
  return { vault: new KeytarVault({ service }), service };
}

export function testProfileId(): string {
  return `p-${crypto.randomBytes(6).toString('hex')}`;
}
