/**
 * A throwaway Redis for the sections that run several server processes (the fan-out adapter and
 * the shared limits), started the way scripts/test.sh starts one: loopback only, a free port, no
 * persistence, its working directory in a temp dir. Or the Redis named by DEPOTLINE_BENCH_REDIS_URL.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sleep } from './stats';

export interface RedisServer {
  url: string;
  /** True when we started it (and must stop it). */
  owned: boolean;
  stop(): void;
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

function answersPing(port: number): boolean {
  const res = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { encoding: 'utf8', timeout: 2000 });
  return res.stdout?.trim() === 'PONG';
}

export async function startRedis(): Promise<RedisServer> {
  const given = process.env.DEPOTLINE_BENCH_REDIS_URL;
  if (given) return { url: given, owned: false, stop: () => {} };
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server not found; run `npm run setup` or set DEPOTLINE_BENCH_REDIS_URL');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-bench-redis-'));
  // Another process may take the port between picking and binding it, hence a few attempts.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn('redis-server', [
      '--bind', '127.0.0.1', '--port', String(port), '--protected-mode', 'yes', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--logfile', path.join(dir, 'server.log'),
    ], { stdio: 'ignore' });
    for (let i = 0; i < 50 && child.exitCode === null; i++) {
      if (answersPing(port)) {
        let stopped = false;
        const stop = () => {
          if (stopped) return;
          stopped = true;
          if (child.exitCode === null) child.kill('SIGTERM'); // nothing to save (--save '')
          fs.rmSync(dir, { recursive: true, force: true });
        };
        process.once('exit', stop);
        return { url: `redis://127.0.0.1:${port}`, owned: true, stop };
      }
      await sleep(100);
    }
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  const log = fs.existsSync(path.join(dir, 'server.log')) ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-2000) : '';
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`Redis did not start: ${log}`);
}
