import crypto from 'node:crypto';
import type { SafeStorageLike } from '../vault/safe-storage-vault';

/**
 * A stand-in for Electron's `safeStorage`, which cannot run here: there is no Electron binary
 * in tests or CI, and safeStorage exists only inside Electron's main process. It does what
 * Chromium's OSCrypt does with the key it keeps in the OS store: AES-256-GCM under a key this
 * object holds, so a second instance ("the keychain was reset", "another user") cannot
 * decrypt the first one's ciphertext. The backend is settable to play Linux's choices.
 */
export class FakeSafeStorage implements SafeStorageLike {
  readonly #key = crypto.randomBytes(32);
  backend: string;
  available = true;
  /** Makes every decryption fail, as when the OS no longer has the wrapping key. */
  failDecrypt = false;
  encryptCalls = 0;

  constructor(backend = 'gnome_libsecret') {
    this.backend = backend;
  }

  isEncryptionAvailable(): boolean {
    return this.available;
  }

  getSelectedStorageBackend(): string {
    return this.backend;
  }

  encryptString(plainText: string): Buffer {
    if (!this.available) throw new Error('Error while encrypting the text provided to safeStorage.encryptString. Encryption is not available.');
    this.encryptCalls++;
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plainText, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from('v11'), iv, cipher.getAuthTag(), body]);
  }

  decryptString(encrypted: Buffer): string {
    if (this.failDecrypt || !this.available) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    try {
      const iv = encrypted.subarray(3, 15);
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAuthTag(encrypted.subarray(15, 31));
      return Buffer.concat([decipher.update(encrypted.subarray(31)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    }
  }
}
