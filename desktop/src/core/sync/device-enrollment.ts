import crypto from 'node:crypto';
import {
  DeviceChallenge, DeviceEnrollResponse, deviceSignInMessage, type DeviceProof, type EnrolledDevice,
} from '@depotline/shared';
import type { DeviceKeyStore } from '../vault/device-key-store';
import { RestTransport, type RestOptions } from './rest';

/** Signs a sign-in for the server's enrolled-device check; null when this computer is not enrolled. */
export type DeviceProver = (signIn: { username: string; deviceId: string }) => Promise<DeviceProof | null>;

/**
 * This computer as an enrolled device of one server (docs/security-model.md "Device
 * enrollment"). `enroll` generates an Ed25519 key pair, registers the public key with a
 * one-time token (`POST /api/v1/devices/enroll`) and only then keeps the private key in the OS
 * keychain; `prove` asks for a fresh challenge (`POST /api/v1/auth/device-challenge`) and signs
 * it bound to the sign-in's username and profile device id. The private key never leaves this
 * process and the keychain.
 */
export class DeviceEnrollment {
  readonly #rest: RestTransport;
  readonly #origin: string;
  readonly #keys: DeviceKeyStore;

  constructor(serverUrl: URL, keys: DeviceKeyStore, rest: RestOptions = {}) {
    this.#rest = new RestTransport(serverUrl, rest);
    this.#origin = serverUrl.origin;
    this.#keys = keys;
  }

  async isEnrolled(): Promise<boolean> {
    return (await this.#keys.get(this.#origin)) !== null;
  }

  /**
   * Enrolls this computer with a token. A computer already enrolled keeps its identity and the
   * token is not spent (null). A refused token throws the server's error (`unauthenticated`).
   */
  async enroll(token: string, device: { name: string; platform?: string }): Promise<EnrolledDevice | null> {
    if (await this.isEnrolled()) return null;
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const { device: enrolled } = await this.#rest.json('POST', '/api/v1/devices/enroll', DeviceEnrollResponse, {
      body: { token, publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), name: device.name, ...(device.platform ? { platform: device.platform } : {}) },
    });
    await this.#keys.set(this.#origin, { enrolledDeviceId: enrolled.id, privateKey });
    return enrolled;
  }

  /** The proof for one sign-in, or null when this computer holds no device key for the server. */
  readonly prove: DeviceProver = async ({ username, deviceId }) => {
    const identity = await this.#keys.get(this.#origin);
    if (!identity) return null;
    const challenge = await this.#rest.json('POST', '/api/v1/auth/device-challenge', DeviceChallenge, { body: { enrolledDeviceId: identity.enrolledDeviceId } });
    const message = Buffer.from(deviceSignInMessage({ challengeId: challenge.challengeId, nonce: challenge.nonce, username, deviceId }), 'utf8');
    return { challengeId: challenge.challengeId, signature: crypto.sign(null, message, identity.privateKey).toString('base64url') };
  };

  /** Forgets the device key (after the server revoked this device); true when there was one. */
  forget(): Promise<boolean> {
    return this.#keys.delete(this.#origin);
  }
}
