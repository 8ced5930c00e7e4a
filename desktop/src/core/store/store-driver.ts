import { multipleCiphersBinding } from './multiple-ciphers-binding';
import type { SqlBinding } from './sql-binding';
import { sqlcipherBinding } from './sqlcipher-binding';

/**
 * Which library opens the profile databases. Both read and write the same SQLCipher 4 files
 * (sqlcipher-interop.test.ts), so the choice is about where each builds: @journeyapps/sqlcipher
 * on Linux and macOS, better-sqlite3-multiple-ciphers on Windows.
 *
 * `DEPOTLINE_STORE_DRIVER` (`sqlcipher` or `multiple-ciphers`) overrides the platform's
 * choice: the test suite runs the store on both drivers with it, and support can try the other
 * driver on a machine where one misbehaves. Any other value is refused rather than ignored.
 */
export const storeDrivers = {
  sqlcipher: sqlcipherBinding,
  'multiple-ciphers': multipleCiphersBinding,
} as const satisfies Record<string, SqlBinding>;

export type StoreDriverName = keyof typeof storeDrivers;

export const storeDriverEnv = 'DEPOTLINE_STORE_DRIVER';

export function storeDriverName(
  platform: NodeJS.Platform = process.platform,
  env: Readonly<Record<string, string | undefined>> = process.env,
): StoreDriverName {
  const chosen = env[storeDriverEnv];
  if (chosen !== undefined && chosen !== '') {
    if (Object.hasOwn(storeDrivers, chosen)) return chosen as StoreDriverName;
    throw new Error(`${storeDriverEnv} is "${chosen}"; it must be one of ${Object.keys(storeDrivers).join(', ')} (or unset).`);
  }
  return platform === 'win32' ? 'multiple-ciphers' : 'sqlcipher';
}

/** The binding for this platform, or the one DEPOTLINE_STORE_DRIVER names. */
export function platformStoreBinding(
  platform: NodeJS.Platform = process.platform,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SqlBinding {
  return storeDrivers[storeDriverName(platform, env)];
}
