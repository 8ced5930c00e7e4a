import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { UserView } from '@depotline/shared';
import { z } from 'zod';
import { assertProfileId, KeychainUnavailableError } from '../../core';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

/**
 * What unlocks the console without the server: after a successful online sign-in, a scrypt
 * hash of the password (RFC 7914; N=2^15, r=8, p=1, as OWASP's password storage cheat sheet
 * lists) is kept in the OS keychain (keytar, also where Electron's safeStorage holds the
 * database key), never on disk and never in the renderer. It lets a user unlock a locked console, or sign in again on this device while the
 * server is down, with the password that already proved itself online together with the
 * second factor. Sign-out and a wipe delete it, so the next sign-in goes to the server again.
 */
export const StoredVerifier = z.object({
  v: z.literal(1),
  salt: z.base64(),
  hash: z.base64(),
  user: UserView,
});
export type StoredVerifier = z.infer<typeof StoredVerifier>;

const params = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const hashBytes = 32;

export async function makeVerifier(password: string, user: UserView): Promise<StoredVerifier> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, hashBytes, params);
  return { v: 1, salt: salt.toString('base64'), hash: hash.toString('base64'), user };
}

export async function verifyPassword(verifier: StoredVerifier, password: string): Promise<boolean> {
  const expected = Buffer.from(verifier.hash, 'base64');
  const actual = await scrypt(password, Buffer.from(verifier.salt, 'base64'), expected.length, params);
  return expected.length === hashBytes && crypto.timingSafeEqual(actual, expected);
}

export interface UnlockVerifierVault {
  get(profileId: string): Promise<StoredVerifier | null>;
  set(profileId: string, verifier: StoredVerifier): Promise<void>;
  delete(profileId: string): Promise<boolean>;
}

interface KeytarLike {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

/** Keeps verifiers in the OS keychain through keytar, on the same service as the database key. */
export class KeytarUnlockVerifierVault implements UnlockVerifierVault {
  readonly #service: string;
  #api: Promise<KeytarLike> | null = null;

  constructor(options: { service?: string } = {}) {
    this.#service = options.service ?? 'Depotline';
  }

  async get(profileId: string): Promise<StoredVerifier | null> {
    const raw = await (await this.#keytar()).getPassword(this.#service, account(profileId));
    if (raw === null) return null;
    try {
      const parsed = StoredVerifier.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : null;
    } catch {
      return null; // not ours: treated as absent, so the user signs in online
    }
  }

  async set(profileId: string, verifier: StoredVerifier): Promise<void> {
    await (await this.#keytar()).setPassword(this.#service, account(profileId), JSON.stringify(verifier));
  }

  async delete(profileId: string): Promise<boolean> {
    return (await this.#keytar()).deletePassword(this.#service, account(profileId));
  }

  #keytar(): Promise<KeytarLike> {
    this.#api ??= import('keytar').then(
      (mod) => mod.default,
      (err: unknown) => {
        this.#api = null;
        throw new KeychainUnavailableError('native_module', 'The keychain module (keytar) could not be loaded; reinstall Depotline.', { cause: err });
      },
    );
    return this.#api;
  }
}

function account(profileId: string): string {
  assertProfileId(profileId);
  return `unlock:${profileId}`;
}
