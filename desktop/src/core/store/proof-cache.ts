import type { SqlConnection } from './sql-binding';

/** One entry of the offline proof copy (migration 0007): a stop's proof list or one proof's file. */
export interface ProofCacheEntry {
  /** `list:<stopId>` or `file:<proofId>`. */
  key: string;
  locationId: string;
  stopId: string;
  contentType: string;
  body: Uint8Array;
  cachedAt: number;
}

export async function readProofCache(conn: SqlConnection, key: string): Promise<ProofCacheEntry | null> {
  const row = await conn.get('SELECT * FROM proof_cache WHERE key = ?', [key]);
  if (!row) return null;
  const body = row['body'];
  return {
    key, locationId: String(row['location_id']), stopId: String(row['stop_id']), contentType: String(row['content_type']),
    body: body instanceof Uint8Array ? body : new Uint8Array(), cachedAt: Number(row['cached_at']),
  };
}

export async function writeProofCache(conn: SqlConnection, e: ProofCacheEntry): Promise<void> {
  await conn.run(
    `INSERT INTO proof_cache (key, location_id, stop_id, content_type, body, cached_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(key) DO UPDATE SET location_id = excluded.location_id, stop_id = excluded.stop_id,
       content_type = excluded.content_type, body = excluded.body, cached_at = excluded.cached_at`,
    [e.key, e.locationId, e.stopId, e.contentType, e.body, e.cachedAt],
  );
}

/** Empties the copy (the policy no longer allows it); answers how many entries went. */
export async function clearProofCache(conn: SqlConnection): Promise<number> {
  return (await conn.run('DELETE FROM proof_cache')).changes;
}
