import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeytarVault } from '../../src/core';
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
