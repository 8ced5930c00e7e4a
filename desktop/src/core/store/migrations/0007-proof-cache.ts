import type { Migration } from './migration';

/**
 * The offline copy of proof of delivery, used only when IT allows it (managed policy
 * `podOfflineCache`; default off: then nothing is written here, and a copy left from when it was
 * allowed is emptied the first time the console shows proof in a session).
 * One row per stop's proof list (`list:<stopId>`) and per proof file (`file:<proofId>`), in the
 * encrypted database like everything else; dropped with its location (a revoked grant) and with
 * the whole file when the session is revoked.
 */
export const migration0007: Migration = {
  version: 7,
  name: 'proof-cache',
  async up(conn) {
    await conn.exec(`
      CREATE TABLE proof_cache (
        key TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        stop_id TEXT NOT NULL,
        content_type TEXT NOT NULL,
        body BLOB NOT NULL,
        cached_at INTEGER NOT NULL
      );
    `);
  },
};
