import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ServerContext } from '../context';

/**
 * Where sealed proof files live, behind the smallest interface that lets another store (an
 * object store) replace the local filesystem. The store only ever sees sealed bytes
 * (proofs/envelope.ts): whoever reads it without the server's proof key reads nothing.
 */
export interface ProofFileStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Null when nothing is stored under the key. */
  get(key: string): Promise<Uint8Array | null>;
  /** Removing a key that is not there is not an error. */
  delete(key: string): Promise<void>;
}

/** Keys are made by the server (`proofs/<proof id>`); anything else is refused, so no key escapes the directory. */
const keyPattern = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.:-]+)*$/;

function pathOf(dir: string, key: string): string {
  if (!keyPattern.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
    throw new Error(`not a proof storage key: ${JSON.stringify(key.slice(0, 80))}`);
  }
  return path.join(dir, ...key.split('/'));
}

/**
 * The local filesystem store (DEPOTLINE_PROOF_DIR, default `proofs` under the data directory):
 * one file per key, directories mode 0700 and files 0600. A put writes a temporary file and
 * renames it into place, so a reader never sees half a file and a crash leaves no torn one.
 */
export function localProofFileStore(dir: string): ProofFileStore {
  return {
    async put(key, bytes) {
      const file = pathOf(dir, key);
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const temp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
      const handle = await fs.open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, file);
    },
    async get(key) {
      try {
        return new Uint8Array(await fs.readFile(pathOf(dir, key)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async delete(key) {
      await fs.rm(pathOf(dir, key), { force: true });
    },
  };
}

const stores = new WeakMap<ServerContext, ProofFileStore>();

/** The server's proof file store (one per context; tests may put their own with `useProofFileStore`). */
export function proofFileStore(ctx: ServerContext): ProofFileStore {
  let store = stores.get(ctx);
  if (!store) {
    store = localProofFileStore(ctx.config.proofs.dir);
    stores.set(ctx, store);
  }
  return store;
}

/** Replaces the context's store (another backend, or a test's). */
export function useProofFileStore(ctx: ServerContext, store: ProofFileStore): void {
  stores.set(ctx, store);
}

/** The storage key of a proof's sealed file. */
export const proofStorageKey = (proofId: string) => `proofs/${proofId}`;
