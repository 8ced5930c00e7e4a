import type { DatabaseKey } from '../../desktop/src/core/vault/database-key';
import type { KeySlot, KeyVault, SessionSecretVault } from '../../desktop/src/core/vault/key-vault';

/**
 * The desktop core's vault interfaces, held in process memory. The benchmark measures sync, not
 * the keychain: the OS keychain (gnome-keyring over D-Bus) exists only inside `npm test`'s
 * private session, so this stands in at that boundary. Bench-only; never ship it.
 */
export class MemoryVault implements KeyVault, SessionSecretVault {
  readonly backend = 'memory (bench only)';
  readonly #keys = new Map<string, DatabaseKey>();
  readonly #tokens = new Map<string, string>();

  probe(): Promise<void> {
    return Promise.resolve();
  }
  getKey(profileId: string, slot: KeySlot): Promise<DatabaseKey | null> {
    return Promise.resolve(this.#keys.get(`${profileId}:${slot}`) ?? null);
  }
  setKey(profileId: string, slot: KeySlot, key: DatabaseKey): Promise<void> {
    this.#keys.set(`${profileId}:${slot}`, key);
    return Promise.resolve();
  }
  deleteKey(profileId: string, slot: KeySlot): Promise<boolean> {
    return Promise.resolve(this.#keys.delete(`${profileId}:${slot}`));
  }
  getRefreshToken(profileId: string): Promise<string | null> {
    return Promise.resolve(this.#tokens.get(profileId) ?? null);
  }
  setRefreshToken(profileId: string, token: string): Promise<void> {
    this.#tokens.set(profileId, token);
    return Promise.resolve();
  }
  deleteRefreshToken(profileId: string): Promise<boolean> {
    return Promise.resolve(this.#tokens.delete(profileId));
  }
}
