import crypto from 'node:crypto';
import { KeychainEntryInvalidError, KeychainUnavailableError, type KeychainFailure } from '../errors';
import { DatabaseKey } from './database-key';
import { assertProfileId, type KeySlot, type KeyVault, type SessionSecretVault } from './key-vault';

/** The part of keytar we use; lets tests hand in keytar loaded in a different way. */
export interface KeytarApi {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

export interface KeytarVaultOptions {
  /** Keychain service name; tests use their own so they never touch a real profile. */
  service?: string;
  /**
   * A locked keyring tends to wait for an unlock prompt instead of failing; nobody may be
   * there to see it (headless CI, a remote session), so every call gets a deadline.
   */
  timeoutMs?: number;
  keytar?: KeytarApi;
}

const accountPrefix: Readonly<Record<KeySlot, string>> = { current: 'db-key', next: 'db-key-next' };

/**
 * The OS keychain through keytar: Secret Service over D-Bus on Linux (GNOME Keyring,
 * KWallet), Keychain on macOS, Credential Manager on Windows. One entry per profile and
 * slot: service `Depotline`, account `db-key:<profileId>`, the key as 64 hex digits.
 *
 * Fails closed. Unlike Electron's safeStorage, keytar has no plaintext fallback on Linux:
 * without a Secret Service every call fails, and we turn that into KeychainUnavailableError
 * and never open or create a database.
 */
export class KeytarVault implements KeyVault, SessionSecretVault {
  readonly backend: string;
  readonly #service: string;
  readonly #timeoutMs: number;
  #api: Promise<KeytarApi> | null;

  constructor(options: KeytarVaultOptions = {}) {
    this.#service = options.service ?? 'Depotline';
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#api = options.keytar ? Promise.resolve(options.keytar) : null;
    this.backend = `keytar (${platformKeychainName()})`;
  }

  async probe(): Promise<void> {
    const account = `probe:${crypto.randomUUID()}`;
    const nonce = crypto.randomBytes(16).toString('hex');
    await this.#call('store a test entry', (k) => k.setPassword(this.#service, account, nonce));
    const back = await this.#call('read the test entry', (k) => k.getPassword(this.#service, account));
    await this.#call('delete the test entry', (k) => k.deletePassword(this.#service, account));
    if (back !== nonce) {
      throw new KeychainUnavailableError('unknown', `${platformKeychainName()} accepted a secret but did not return it. ` +
        'Depotline cannot keep its database key there; check the keychain configuration.');
    }
  }

  async getKey(profileId: string, slot: KeySlot): Promise<DatabaseKey | null> {
    const name = account(profileId, slot);
    const hex = await this.#call('read the database key', (k) => k.getPassword(this.#service, name));
    if (hex === null) return null;
    const key = DatabaseKey.fromHex(hex);
    if (!key) throw new KeychainEntryInvalidError(profileId);
    return key;
  }

  async setKey(profileId: string, slot: KeySlot, key: DatabaseKey): Promise<void> {
    const name = account(profileId, slot);
    const hex = key.toHexForKeychain();
    await this.#call('store the database key', (k) => k.setPassword(this.#service, name, hex));
    const back = await this.#call('read the database key back', (k) => k.getPassword(this.#service, name));
    if (back !== hex) {
      throw new KeychainUnavailableError('unknown', `${platformKeychainName()} did not keep the database key. ` +
        'No database was created; check the keychain configuration.');
    }
  }

  async deleteKey(profileId: string, slot: KeySlot): Promise<boolean> {
    const name = account(profileId, slot);
    return this.#call('delete the database key', (k) => k.deletePassword(this.#service, name));
  }

  async getRefreshToken(profileId: string): Promise<string | null> {
    const name = refreshAccount(profileId);
    return this.#call('read the sign-in token', (k) => k.getPassword(this.#service, name));
  }

  async setRefreshToken(profileId: string, token: string): Promise<void> {
    const name = refreshAccount(profileId);
    await this.#call('store the sign-in token', (k) => k.setPassword(this.#service, name, token));
  }

  async deleteRefreshToken(profileId: string): Promise<boolean> {
    const name = refreshAccount(profileId);
    return this.#call('delete the sign-in token', (k) => k.deletePassword(this.#service, name));
  }

  async #call<T>(what: string, fn: (api: KeytarApi) => Promise<T>): Promise<T> {
    const api = await this.#load();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KeychainUnavailableError('timeout', `${platformKeychainName()} did not answer ` +
        `within ${Math.round(this.#timeoutMs / 1000)} s when asked to ${what}. It may be locked and waiting for a password ` +
        'prompt: unlock it (log in to the desktop session) and try again.')), this.#timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([fn(api), deadline]);
    } catch (err) {
      if (err instanceof KeychainUnavailableError) throw err;
      // keytar's messages come from the OS (libsecret, Security.framework, wincred) and
      // never contain the password, so they are safe to classify and keep as the cause.
      throw keychainError(what, err);
    } finally {
      clearTimeout(timer);
    }
  }

  #load(): Promise<KeytarApi> {
    // Loaded on first use, not at import: a missing native binding must become a typed
    // error for this one feature, not a crash of everything that imports the core.
    this.#api ??= import('keytar').then(
      (mod) => mod.default,
      (err: unknown) => {
        this.#api = null;
        throw new KeychainUnavailableError('native_module', 'The keychain module (keytar) could not be loaded; ' +
          'reinstall Depotline. No database is opened without it.', { cause: err });
      },
    );
    return this.#api;
  }
}

function account(profileId: string, slot: KeySlot): string {
  assertProfileId(profileId);
  return `${accountPrefix[slot]}:${profileId}`;
}

function refreshAccount(profileId: string): string {
  assertProfileId(profileId);
  return `refresh-token:${profileId}`;
}

export function platformKeychainName(): string {
  if (process.platform === 'darwin') return 'the macOS Keychain';
  if (process.platform === 'win32') return 'Windows Credential Manager';
  return 'the Secret Service keyring (GNOME Keyring or KWallet)';
}

export function classifyKeychainFailure(message: string): KeychainFailure {
  if (/locked|dismissed|cancel/i.test(message)) return 'locked';
  if (/collection\/login|no such collection|default collection|does not exist at path/i.test(message)) return 'no_keyring';
  if (/denied|not allowed|not permitted|authoriz/i.test(message)) return 'access_denied';
  if (/d-?bus|autolaunch|could not connect|no such file|not provided by any|serviceunknown|connection refused|secret service/i.test(message)) {
    return 'no_secret_service';
  }
  return 'unknown';
}

const advice: Readonly<Record<KeychainFailure, string>> = {
  no_secret_service: 'No Secret Service is reachable over D-Bus. Run Depotline inside a desktop session with ' +
    'GNOME Keyring or KWallet running (on a minimal system: install gnome-keyring and start it with ' +
    '`gnome-keyring-daemon --components=secrets`).',
  no_keyring: 'The Secret Service has no default (login) keyring. Create one (for example with the Passwords and Keys ' +
    'app, or by logging in to a desktop session once) and try again.',
  locked: 'The keyring is locked. Unlock it (usually by logging in to the desktop session) and try again.',
  access_denied: 'The keychain refused Depotline access to its entry. Allow access in the keychain settings and try again.',
  timeout: 'The keychain did not answer. Unlock it and try again.',
  native_module: 'The keychain module could not be loaded. Reinstall Depotline.',
  unknown: 'Check that the system keychain works and try again.',
};

function keychainError(what: string, err: unknown): KeychainUnavailableError {
  const osMessage = err instanceof Error ? err.message : String(err);
  const failure = classifyKeychainFailure(osMessage);
  return new KeychainUnavailableError(failure,
    `Depotline could not ${what} in ${platformKeychainName()}: ${osMessage}. ${advice[failure]} ` +
    'Depotline keeps customer data only in an encrypted database whose key lives in the keychain, so it does not ' +
    'open or create the database without one.',
    { cause: err });
}
