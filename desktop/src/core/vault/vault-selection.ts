import type { SessionSecretVault, KeyVault } from './key-vault';
import { KeytarVault, type KeytarVaultOptions } from './keytar-vault';
import { MovingVault, type VaultMove } from './moving-vault';
import { SafeStorageVault, type SafeStorageLike } from './safe-storage-vault';

export interface KeyVaultChoice {
  vault: KeyVault & SessionSecretVault;
  /** `safeStorage` when Electron's safeStorage keeps the keys, `keytar` when it cannot. */
  kind: 'safeStorage' | 'keytar';
  /** Why safeStorage was not chosen; null when it was. */
  fallbackReason: string | null;
}

export interface KeyVaultSelection {
  /** Electron's safeStorage from the main process; null where there is none (plain Node). */
  safeStorage: SafeStorageLike | null;
  /** The profiles directory: safeStorage's wrapped keys live beside the databases. */
  dir: string;
  platform?: NodeJS.Platform;
  keytar?: KeytarVaultOptions;
  /** Told of each secret moved between vaults, or of a move that failed (the old copy kept). */
  onMove?: (move: VaultMove) => void;
}

/**
 * The key vault for this session. Electron's safeStorage when it has a real backend (DPAPI,
 * the macOS Keychain, GNOME libsecret or KWallet; never Linux's `basic_text`), with keytar as
 * the fallback. Either way the other vault is read for secrets not yet moved (MovingVault):
 * profiles created with keytar move to safeStorage as they are opened, and a profile whose
 * keys safeStorage holds, opened in a session without safeStorage, gets a clear error instead
 * of a fresh, empty database. Call after the app is ready (on Linux the backend is `unknown`
 * before).
 */
export function selectKeyVault(options: KeyVaultSelection): KeyVaultChoice {
  const keytar = new KeytarVault(options.keytar);
  if (!options.safeStorage) return { vault: keytar, kind: 'keytar', fallbackReason: 'Electron safeStorage is not available in this process.' };
  const safe = new SafeStorageVault({
    safeStorage: options.safeStorage, dir: options.dir, ...(options.platform ? { platform: options.platform } : {}),
  });
  const reason = safe.unusableReason();
  if (reason === null) return { vault: new MovingVault(safe, keytar, options.onMove), kind: 'safeStorage', fallbackReason: null };
  return { vault: new MovingVault(keytar, safe, options.onMove), kind: 'keytar', fallbackReason: reason };
}
