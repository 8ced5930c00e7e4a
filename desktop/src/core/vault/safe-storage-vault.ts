import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KeychainEntryInvalidError, KeychainUnavailableError } from '../errors';
import { DatabaseKey } from './database-key';
import { assertProfileId, type KeySlot, type KeyVault, type SessionSecretVault } from './key-vault';

/**
 * The part of Electron's `safeStorage` the vault uses. The core never imports Electron: the
 * main process hands in `safeStorage` itself, tests a stand-in.
 * https://www.electronjs.org/docs/latest/api/safe-storage
 */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /**
   * Linux only: `basic_text`, `gnome_libsecret`, `kwallet`, `kwallet5`, `kwallet6`, or
   * `unknown` before the app is ready.
   */
  getSelectedStorageBackend?(): string;
}

/**
 * Linux backends that keep the wrapping key in a real secret store. `basic_text` encrypts with
 * a password hard-coded in Chromium, i.e. plaintext with extra steps: refused, as Signal
 * Desktop refuses it. `unknown` (asked before `ready`) proves nothing and is refused too.
 */
const linuxSecretBackends: ReadonlySet<string> = new Set(['gnome_libsecret', 'kwallet', 'kwallet5', 'kwallet6']);

/** Chromium's `--password-store` value for each backend, for the message that names it. */
const passwordStoreSwitch: Readonly<Record<string, string>> = {
  gnome_libsecret: 'gnome-libsecret', kwallet: 'kwallet', kwallet5: 'kwallet5', kwallet6: 'kwallet6',
};

type Entry = 'db-key' | 'db-key-next' | 'refresh-token';
const slotEntry: Readonly<Record<KeySlot, Entry>> = { current: 'db-key', next: 'db-key-next' };

/** What a wrapped-secret file holds: the backend it was wrapped under, and the ciphertext. */
interface WrappedFile {
  v: 1;
  backend: string;
  data: string;
}

export interface SafeStorageVaultOptions {
  safeStorage: SafeStorageLike;
  /** Where the wrapped secrets live: the profiles directory (created 0700 by the main process). */
  dir: string;
  platform?: NodeJS.Platform;
}

/**
 * Keeps each profile's secrets wrapped by Electron's safeStorage (DPAPI on Windows, a Keychain
 * item on macOS, the Secret Service or KWallet on Linux) in files beside the profile:
 * `<profileId>.db-key.safestorage`, `.db-key-next.`, `.refresh-token.`, mode 0600, written
 * whole (temp file, fsync, rename). The file holds only ciphertext; the OS keeps the key.
 *
 * Fails closed like KeytarVault: no usable backend, no database. On Linux the backend a secret
 * was wrapped under is recorded with it; a session that selected another one (the user moved
 * from GNOME to KDE, Signal Desktop's lock-out) gets an error naming the `--password-store`
 * switch that reads it again, and the file is never touched.
 */
export class SafeStorageVault implements KeyVault, SessionSecretVault {
  readonly backend: string;
  readonly #safeStorage: SafeStorageLike;
  readonly #dir: string;
  readonly #platform: NodeJS.Platform;

  constructor(options: SafeStorageVaultOptions) {
    this.#safeStorage = options.safeStorage;
    this.#dir = options.dir;
    this.#platform = options.platform ?? process.platform;
    this.backend = `safeStorage (${this.#backendName()})`;
  }

  /** Null when safeStorage can keep a secret here; otherwise why it cannot. */
  unusableReason(): string | null {
    if (this.#platform === 'linux') {
      const selected = this.#safeStorage.getSelectedStorageBackend?.() ?? 'unknown';
      if (selected === 'basic_text') {
        return 'Electron safeStorage found no secret store in this session (backend basic_text, a password built into ' +
          'the app): it would keep the database key in effect in plain text.';
      }
      if (!linuxSecretBackends.has(selected)) return `Electron safeStorage reports the backend "${selected}", not a secret store.`;
    }
    if (!this.#safeStorage.isEncryptionAvailable()) return 'Electron safeStorage says encryption is not available in this session.';
    return null;
  }

  probe(): Promise<void> {
    return settle(() => this.#probe());
  }

  #probe(): void {
    this.#assertUsable();
    const nonce = crypto.randomBytes(16).toString('hex');
    let back: string;
    try {
      back = this.#safeStorage.decryptString(this.#safeStorage.encryptString(nonce));
    } catch (err) {
      throw unavailable(`${this.backend} could not encrypt and decrypt a test value.`, err);
    }
    if (back !== nonce) throw unavailable(`${this.backend} did not return the test value it encrypted.`);
  }

  getKey(profileId: string, slot: KeySlot): Promise<DatabaseKey | null> {
    return settle(() => {
      const hex = this.#read(profileId, slotEntry[slot]);
      if (hex === null) return null;
      const key = DatabaseKey.fromHex(hex);
      if (!key) throw new KeychainEntryInvalidError(profileId);
      return key;
    });
  }

  setKey(profileId: string, slot: KeySlot, key: DatabaseKey): Promise<void> {
    return settle(() => this.#write(profileId, slotEntry[slot], key.toHexForKeychain()));
  }

  deleteKey(profileId: string, slot: KeySlot): Promise<boolean> {
    return settle(() => this.#remove(profileId, slotEntry[slot]));
  }

  getRefreshToken(profileId: string): Promise<string | null> {
    return settle(() => this.#read(profileId, 'refresh-token'));
  }

  setRefreshToken(profileId: string, token: string): Promise<void> {
    return settle(() => this.#write(profileId, 'refresh-token', token));
  }

  deleteRefreshToken(profileId: string): Promise<boolean> {
    return settle(() => this.#remove(profileId, 'refresh-token'));
  }

  /** True when a wrapped secret of this kind exists, whether or not it can be read now. */
  holds(profileId: string, entry: Entry): boolean {
    return fs.existsSync(this.#file(profileId, entry));
  }

  #file(profileId: string, entry: Entry): string {
    assertProfileId(profileId);
    return path.join(this.#dir, `${profileId}.${entry}.safestorage`);
  }

  #read(profileId: string, entry: Entry): string | null {
    const file = this.#file(profileId, entry);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const wrapped = parseWrapped(text);
    if (!wrapped) throw new KeychainEntryInvalidError(profileId);
    const now = this.#backendName();
    if (this.#platform === 'linux' && wrapped.backend !== now) {
      const flag = passwordStoreSwitch[wrapped.backend];
      throw new KeychainUnavailableError('no_keyring', `This profile's keys were protected with ${wrapped.backend}, but this ` +
        `session's secret store is ${now}, which cannot read them. Start Depotline in a session with ${wrapped.backend} ` +
        `${flag ? `(or with --password-store=${flag}) ` : ''}to open it. Nothing was changed or deleted.`);
    }
    this.#assertUsable();
    try {
      return this.#safeStorage.decryptString(Buffer.from(wrapped.data, 'base64'));
    } catch (err) {
      // The OS no longer has the wrapping key (another user, a reset keychain, a restored
      // backup on another machine). The file stays: the key may come back with the keychain.
      throw unavailable(`${this.backend} could not decrypt this profile's stored key. The keychain that protected it ` +
        'may have been reset or belongs to another account. Nothing was deleted.', err);
    }
  }

  #write(profileId: string, entry: Entry, secret: string): void {
    this.#assertUsable();
    const file = this.#file(profileId, entry);
    let wrapped: Buffer;
    try {
      wrapped = this.#safeStorage.encryptString(secret);
    } catch (err) {
      throw unavailable(`${this.backend} could not encrypt the secret.`, err);
    }
    const body: WrappedFile = { v: 1, backend: this.#backendName(), data: wrapped.toString('base64') };
    const tmp = `${file}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(body)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    // Read back through the OS, as KeytarVault does: a secret we cannot decrypt is no secret kept.
    if (this.#read(profileId, entry) !== secret) {
      throw unavailable(`${this.backend} did not return the secret it encrypted; check the keychain configuration.`);
    }
  }

  #remove(profileId: string, entry: Entry): boolean {
    const file = this.#file(profileId, entry);
    if (!fs.existsSync(file)) return false;
    fs.rmSync(file, { force: true });
    return true;
  }

  #assertUsable(): void {
    const reason = this.unusableReason();
    if (reason) {
      throw new KeychainUnavailableError('no_secret_service', `${reason} Depotline does not keep its database key there. ` +
        'Run it in a desktop session with GNOME Keyring or KWallet (Linux), or signed in to your own account.');
    }
  }

  #backendName(): string {
    if (this.#platform === 'linux') return this.#safeStorage.getSelectedStorageBackend?.() ?? 'unknown';
    if (this.#platform === 'win32') return 'DPAPI';
    if (this.#platform === 'darwin') return 'macOS Keychain';
    return this.#platform;
  }
}

/** The vault's calls are synchronous underneath; a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}

function parseWrapped(text: string): WrappedFile | null {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return null;
    const o = v as Record<string, unknown>;
    if (o['v'] !== 1 || typeof o['backend'] !== 'string' || typeof o['data'] !== 'string') return null;
    return { v: 1, backend: o['backend'], data: o['data'] };
  } catch {
    return null;
  }
}

function unavailable(message: string, cause?: unknown): KeychainUnavailableError {
  return new KeychainUnavailableError('unknown', message, cause === undefined ? undefined : { cause });
}
