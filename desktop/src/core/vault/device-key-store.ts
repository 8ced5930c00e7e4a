import crypto from 'node:crypto';
import { KeychainUnavailableError } from '../errors';
import { classifyKeychainFailure, type KeytarApi, platformKeychainName } from './keytar-vault';

/**
 * This computer's enrolled-device identity for one server (device enrollment, issue 16): the
 * id the server gave it and its Ed25519 private key, kept in the OS keychain through keytar
 * (service `Depotline`, account `enrolled-device:<server origin>`), never in a file. It belongs
 * to the machine, not to a profile: every user who signs in on this desk signs with it, and
 * wiping a profile leaves it in place (revoking the device on the server is what disowns it).
 */
export interface DeviceIdentity {
  enrolledDeviceId: string;
  privateKey: crypto.KeyObject;
}

export interface DeviceKeyStore {
  get(serverOrigin: string): Promise<DeviceIdentity | null>;
  /** Stores the identity and reads it back; throws if the keychain did not keep it. */
  set(serverOrigin: string, identity: DeviceIdentity): Promise<void>;
  delete(serverOrigin: string): Promise<boolean>;
}

interface Stored { v: 1; id: string; key: string }

/** The keychain holds something under the device key's name that is not one. */
export class DeviceKeyInvalidError extends Error {
  override readonly name = 'DeviceKeyInvalidError' as const;
}

export class KeytarDeviceKeyStore implements DeviceKeyStore {
  readonly #service: string;
  readonly #timeoutMs: number;
  #api: Promise<KeytarApi> | null;

  constructor(options: { service?: string; timeoutMs?: number; keytar?: KeytarApi } = {}) {
    this.#service = options.service ?? 'Depotline';
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#api = options.keytar ? Promise.resolve(options.keytar) : null;
  }

  async get(serverOrigin: string): Promise<DeviceIdentity | null> {
    const raw = await this.#call('read the device key', (k) => k.getPassword(this.#service, account(serverOrigin)));
    if (raw === null) return null;
    try {
      const stored = JSON.parse(raw) as Partial<Stored>;
      if (stored.v !== 1 || typeof stored.id !== 'string' || typeof stored.key !== 'string') throw new Error('shape');
      const privateKey = crypto.createPrivateKey({ key: Buffer.from(stored.key, 'base64url'), format: 'der', type: 'pkcs8' });
      if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
      return { enrolledDeviceId: stored.id, privateKey };
    } catch {
      throw new DeviceKeyInvalidError(`The keychain entry holding this computer's device key for ${serverOrigin} is damaged. ` +
        'Ask IT to revoke this device and enroll it again.');
    }
  }

  async set(serverOrigin: string, identity: DeviceIdentity): Promise<void> {
    const value = JSON.stringify({ v: 1, id: identity.enrolledDeviceId, key: identity.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url') } satisfies Stored);
    await this.#call('store the device key', (k) => k.setPassword(this.#service, account(serverOrigin), value));
    const back = await this.#call('read the device key back', (k) => k.getPassword(this.#service, account(serverOrigin)));
    if (back !== value) {
      throw new KeychainUnavailableError('unknown', `${platformKeychainName()} accepted the device key but did not return it; this computer cannot be enrolled until the keychain works.`);
    }
  }

  delete(serverOrigin: string): Promise<boolean> {
    return this.#call('delete the device key', (k) => k.deletePassword(this.#service, account(serverOrigin)));
  }

  async #call<T>(what: string, fn: (api: KeytarApi) => Promise<T>): Promise<T> {
    this.#api ??= import('keytar').then((mod) => mod.default, (err: unknown) => {
      this.#api = null;
      throw new KeychainUnavailableError('native_module', 'The keychain module (keytar) could not be loaded; reinstall Depotline.', { cause: err });
    });
    const api = await this.#api;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KeychainUnavailableError('timeout', `${platformKeychainName()} did not answer within ` +
        `${Math.round(this.#timeoutMs / 1000)} s when asked to ${what}; it may be locked. Unlock it and try again.`)), this.#timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([fn(api), deadline]);
    } catch (err) {
      if (err instanceof KeychainUnavailableError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new KeychainUnavailableError(classifyKeychainFailure(message), `Depotline could not ${what} in ${platformKeychainName()}: ${message}.`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}

function account(serverOrigin: string): string {
  return `enrolled-device:${serverOrigin}`;
}
