import { KeychainUnavailableError, type KeychainFailure } from '../errors';
import type { DatabaseKey } from './database-key';
import type { KeySlot, KeyVault, SessionSecretVault } from './key-vault';

type Vault = KeyVault & SessionSecretVault;

const nothingThere: ReadonlySet<KeychainFailure> = new Set(['no_secret_service', 'native_module']);

export interface VaultMove {
  profileId: string;
  /** `db-key:current`, `db-key:next` or `refresh-token`. */
  entry: string;
  outcome: 'moved' | 'failed';
  /** Why a move failed; never key material. */
  reason?: string;
}

/**
 * A profile's secrets on their way from one vault to another (keytar to safeStorage). Reads
 * ask `to` first; a secret only `from` holds is copied into `to`, read back from `to` and
 * compared, and only then deleted from `from`. A failure at any step leaves `from`'s entry as
 * it was, removes what was half-written to `to`, and still returns the secret: moving vaults
 * never locks anyone out (Signal Desktop's keyring-change lock-outs are the cautionary tale).
 * A crash between the copy and the delete leaves both; the next read finds them equal and
 * finishes the move.
 *
 * Writes go to `to` only; deletes (a wipe, a finished rotation) go to both, so no copy outlives
 * a wipe.
 */
export class MovingVault implements KeyVault, SessionSecretVault {
  readonly backend: string;

  constructor(
    private readonly to: Vault,
    private readonly from: Vault,
    private readonly onMove: (move: VaultMove) => void = () => {},
  ) {
    this.backend = `${to.backend} (moving from ${from.backend})`;
  }

  probe(): Promise<void> {
    return this.to.probe();
  }

  getKey(profileId: string, slot: KeySlot): Promise<DatabaseKey | null> {
    return this.#move(profileId, `db-key:${slot}`, {
      read: (v) => v.getKey(profileId, slot),
      write: (v, key) => v.setKey(profileId, slot, key),
      remove: (v) => v.deleteKey(profileId, slot),
      same: (a, b) => a.equals(b),
    });
  }

  setKey(profileId: string, slot: KeySlot, key: DatabaseKey): Promise<void> {
    return this.to.setKey(profileId, slot, key);
  }

  async deleteKey(profileId: string, slot: KeySlot): Promise<boolean> {
    return deleteFromBoth(() => this.to.deleteKey(profileId, slot), () => this.from.deleteKey(profileId, slot));
  }

  getRefreshToken(profileId: string): Promise<string | null> {
    return this.#move(profileId, 'refresh-token', {
      read: (v) => v.getRefreshToken(profileId),
      write: (v, token) => v.setRefreshToken(profileId, token),
      remove: (v) => v.deleteRefreshToken(profileId),
      same: (a, b) => a === b,
    });
  }

  setRefreshToken(profileId: string, token: string): Promise<void> {
    return this.to.setRefreshToken(profileId, token);
  }

  deleteRefreshToken(profileId: string): Promise<boolean> {
    return deleteFromBoth(() => this.to.deleteRefreshToken(profileId), () => this.from.deleteRefreshToken(profileId));
  }

  async #move<T>(profileId: string, entry: string, ops: {
    read: (v: Vault) => Promise<T | null>;
    write: (v: Vault, value: T) => Promise<void>;
    remove: (v: Vault) => Promise<boolean>;
    same: (a: T, b: T) => boolean;
  }): Promise<T | null> {
    const there = await ops.read(this.to);
    if (there !== null) {
      // Left behind by a crash after the copy: finish the move, but only with proof they match.
      const old = await ops.read(this.from).catch(() => null);
      if (old !== null && ops.same(old, there)) await ops.remove(this.from).catch(() => false);
      return there;
    }
    const old = await ops.read(this.from).catch((err: unknown) => {
      // A keychain nothing answers for (no Secret Service on this desktop, no native module)
      // never held this profile's secrets, so there is nothing to move. Any other failure (a
      // locked keyring) may hide the only copy of the key: it stops the read, fail closed.
      if (err instanceof KeychainUnavailableError && nothingThere.has(err.failure)) return null;
      throw err;
    });
    if (old === null) return null;
    try {
      await ops.write(this.to, old);
      const back = await ops.read(this.to);
      if (back === null || !ops.same(back, old)) throw new Error(`${this.to.backend} did not return the secret it was given`);
    } catch (err) {
      await ops.remove(this.to).catch(() => false);
      this.onMove({ profileId, entry, outcome: 'failed', reason: err instanceof Error ? err.message : String(err) });
      return old;
    }
    await ops.remove(this.from).catch(() => false); // a leftover is finished at the next read
    this.onMove({ profileId, entry, outcome: 'moved' });
    return old;
  }
}

async function deleteFromBoth(a: () => Promise<boolean>, b: () => Promise<boolean>): Promise<boolean> {
  // Both run even if one throws, so a wipe removes what it can; the first failure is reported.
  const results = await Promise.allSettled([a(), b()]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.some((r) => r.status === 'fulfilled' && r.value);
}
