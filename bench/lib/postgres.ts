/**
 * A throwaway PostgreSQL cluster for the throughput figure, started the way scripts/test.sh
 * starts one (initdb + pg_ctl on a free 127.0.0.1 port, a private socket dir, as the `postgres`
 * user when we are root), or the cluster named by DEPOTLINE_BENCH_PG_URL.
 *
 * Durability: fsync stays on; synchronous_commit is off, which is PostgreSQL's counterpart of
 * the server's SQLite setting (WAL + synchronous=NORMAL: a commit survives a process crash,
 * not necessarily a power cut), so the two databases are compared at the same promise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface PostgresCluster {
  url: string;
  /** True when we started it (and must stop it). */
  owned: boolean;
  stop(): void;
}

function findPgBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs.readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function startPostgres(): Promise<PostgresCluster> {
  const given = process.env.DEPOTLINE_BENCH_PG_URL;
  if (given) return { url: given, owned: false, stop: () => {} };
  const bin = findPgBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; run `npm run setup` or set DEPOTLINE_BENCH_PG_URL');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-bench-pg-'));
  const data = path.join(tmp, 'pg/data');
  const sock = path.join(tmp, 'pg/sock');
  fs.mkdirSync(sock, { recursive: true });
  // PostgreSQL refuses to run as root: run it as Debian's `postgres` user, as test.sh does.
  const asPg = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  if (asPg.length) {
    fs.chmodSync(tmp, 0o711);
    execFileSync('chown', ['-R', 'postgres:', path.join(tmp, 'pg')]);
  }
  const run = (cmd: string, args: string[]) => {
    const [exe, ...rest] = [...asPg, cmd, ...args];
    return spawnSync(exe!, rest, { cwd: tmp, encoding: 'utf8' });
  };
  const init = run(path.join(bin, 'initdb'), ['-D', data, '--username=postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const start = run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(tmp, 'pg/server.log'), '-w', '-t', '30', '-o',
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${sock} -c synchronous_commit=off -c max_connections=200 -c shared_buffers=256MB`, 'start']);
    if (start.status === 0) break;
    if (attempt >= 3) throw new Error(`PostgreSQL did not start: ${start.stderr}`);
  }
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('exit', stop);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, owned: true, stop };
}
