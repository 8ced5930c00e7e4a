import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeytarVault, sqlcipherBinding } from '../../src/core';
import { openEncryptedDatabase } from '../../src/core/store/encrypted-database';
import { ConsoleService, type ConsoleServiceOptions } from '../../src/main/service/console-service';
import { KeytarUnlockVerifierVault } from '../../src/main/service/unlock-verifier';

/**
 * What one console installation owns: a profiles directory and keychain entries under a
 * service name of its own (so tests never touch a real profile), both removed by `dispose`.
 */
export interface Installation {
  readonly service: string;
  readonly profilesDir: string;
  readonly vault: KeytarVault;
  readonly verifiers: KeytarUnlockVerifierVault;
  /** Everything in the profiles directory (databases, their -wal/-shm files, set-aside files). */
  files(): string[];
  /** Profiles whose database file exists. */
  profileIds(): string[];
  dispose(): Promise<void>;
}

export function newInstallation(): Installation {
  const service = `Depotline-e2e-${crypto.randomBytes(6).toString('hex')}`;
  const profilesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-console-'));
  const vault = new KeytarVault({ service });
  const verifiers = new KeytarUnlockVerifierVault({ service });
  return {
    service, profilesDir, vault, verifiers,
    files: () => fs.readdirSync(profilesDir),
    profileIds: () => fs.readdirSync(profilesDir).filter((f) => f.endsWith('.db')).map((f) => f.slice(0, -'.db'.length)),
    async dispose() {
      const keytar = (await import('keytar')).default;
      for (const { account } of await keytar.findCredentials(service)) await keytar.deletePassword(service, account);
      fs.rmSync(profilesDir, { recursive: true, force: true });
    },
  };
}

export function newService(install: Installation, serverUrl: string, options: Partial<ConsoleServiceOptions> = {}): ConsoleService {
  return new ConsoleService({
    serverUrl, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers, idleLockMs: 600_000,
    sync: { retryDelayMs: 50, retryDelayMaxMs: 400, ackTimeoutMs: 4000 }, log: { warn: () => undefined },
    ...options,
  });
}

/**
 * Every table of the installation's (first) console database, decrypted with its key from the
 * keychain, as text: what a test asserts is, or is not, kept on the computer. Blobs as `latin1`
 * (a plaintext inside one shows as itself) or `base64`.
 */
export async function databaseText(install: Installation, blobs: 'latin1' | 'base64' = 'latin1'): Promise<string> {
  const [profileId] = install.profileIds();
  const key = await install.vault.getKey(profileId!, 'current');
  const db = await openEncryptedDatabase(sqlcipherBinding, path.join(install.profilesDir, `${profileId!}.db`), key!, { verifyPages: false });
  try {
    const tables = await db.conn.all("SELECT name FROM sqlite_master WHERE type = 'table'");
    const rows = await Promise.all(tables.map(async (t) => db.conn.all(`SELECT * FROM "${String(t.name).replaceAll('"', '""')}"`)));
    // A Buffer turns itself into { type: 'Buffer', data } before a replacer sees it.
    const blob = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v) : (v as { type?: unknown; data?: unknown } | null)?.type === 'Buffer' ? Buffer.from((v as { data: number[] }).data) : null);
    return JSON.stringify(rows, (_k, v: unknown) => blob(v)?.toString(blobs) ?? v);
  } finally {
    await db.close();
  }
}
