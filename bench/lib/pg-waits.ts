import pg from 'pg';

/**
 * Samples what PostgreSQL's client backends are doing (pg_stat_activity: running, waiting for a
 * lock and which, or idle inside a transaction), every `intervalMs` while a phase runs, and
 * counts each (wait, statement) pair: where a cluster's pushes spend their time in the database.
 */
export interface PgWaitSampler {
  stop(): Promise<{ samples: number; top: { what: string; count: number }[] }>;
}

export async function samplePgWaits(clusterUrl: string, intervalMs = 200): Promise<PgWaitSampler> {
  const client = new pg.Client({ connectionString: clusterUrl });
  await client.connect();
  const counts = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const res = await client.query<{ what: string }>(
        `select case when state = 'idle in transaction' then 'idle in transaction' else coalesce(wait_event_type || ':' || wait_event, 'running') end
           || ' | ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 70) as what
         from pg_stat_activity
         where backend_type = 'client backend' and pid <> pg_backend_pid() and state in ('active', 'idle in transaction')`);
      samples++;
      for (const r of res.rows) counts.set(r.what, (counts.get(r.what) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop.catch(() => undefined);
      await client.end();
      const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([what, count]) => ({ what, count }));
      return { samples, top };
    },
  };
}
