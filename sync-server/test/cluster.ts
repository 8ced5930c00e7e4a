/**
 * Real server processes (`src/main.ts`, as an operator runs it) for the multi-process tests
 * and benchmarks: `startServerProcess` runs one; `startCluster` runs several on one PostgreSQL
 * database and one Redis (a key prefix of their own), each on a fixed loopback port, behind
 * nginx configured by deploy/nginx/depotline.conf (see load-balancer.ts).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { adminEnv } from './admin-cli';
import { createTestEnv, type TestEnv } from './harness';
import { freePort, type LoadBalancer, startLoadBalancer } from './load-balancer';

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const testRedisUrl: string | null = process.env.DEPOTLINE_TEST_REDIS_URL ?? null;

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null after a signal) once the process is gone. */
  exited: Promise<number | null>;
  /** Whether `waitForServer` also waits for its Redis connection (REDIS_URL set, LOG_LEVEL info or debug). */
  redis: boolean;
}

/**
 * Starts `src/main.ts` on the test environment's database and keys. PORT is 0 (a free port)
 * unless `extraEnv` sets it; LOG_LEVEL is info, which `waitForServer` reads.
 */
export function startServerProcess(env: TestEnv, extraEnv: NodeJS.ProcessEnv = {}): ServerProcess {
  const processEnv: NodeJS.ProcessEnv = { ...adminEnv(env), PORT: '0', LOG_LEVEL: 'info', ...extraEnv };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: serverDir, env: processEnv });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const logsInfo = processEnv.LOG_LEVEL === 'info' || processEnv.LOG_LEVEL === 'debug';
  return { child, output: () => output, exited, redis: Boolean(processEnv.REDIS_URL) && logsInfo };
}

/**
 * Waits until the process listens (it prints its URL once its signal handlers are in place)
 * and, when it was given REDIS_URL, its Redis connection is up (it logs that at level info, so
 * a quieter LOG_LEVEL skips this wait); returns the URL.
 */
export async function waitForServer(server: ServerProcess, timeoutMs = 60_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const out = server.output();
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    if (url && (!server.redis || out.includes('rate limits: Redis connected'))) return url;
    if (server.child.exitCode !== null || server.child.signalCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server did not start:\n${server.output()}`);
}

/** Ends a process (SIGTERM by default, SIGKILL if it is still there after 10 s) and waits for it. */
export async function stopServerProcess(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill(signal);
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
    await server.exited;
    clearTimeout(timer);
  }
  await server.exited;
}

/* ---------------------------------------------------------------------------------------- */

export interface ClusterNode {
  name: string;
  /** The process's own URL (bypassing nginx). */
  url: string;
  port: number;
  pid: number;
  output(): string;
  /** Signals the process (SIGTERM by default) and resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface Cluster {
  /** nginx's URL, e.g. http://127.0.0.1:PORT (the first node's URL when started without nginx). */
  url: string;
  nodes: ClusterNode[];
  /** The shared PostgreSQL database and key directory. */
  env: TestEnv;
  redisPrefix: string;
  /** nginx, or null when started with `nginx: false`. */
  loadBalancer: LoadBalancer | null;
  /** Starts a replacement process on the same port (ending the old one first with SIGKILL if it still runs). */
  restart(name: string): Promise<ClusterNode>;
  /** Stops nginx and every node, drops the database and deletes the Redis keys under the prefix. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  nodes: number;
  /** Settings for every node (after the harness's own, so they may override them). */
  extraEnv?: NodeJS.ProcessEnv;
  /** Put nginx in front (default true). */
  nginx?: boolean;
  /** nginx worker processes and connections per worker (see load-balancer.ts). */
  nginxWorkerProcesses?: number | 'auto';
  nginxWorkerConnections?: number;
}

const nodeNames = 'abcdefghijklmnopqrstuvwxyz';

/**
 * N server processes named a, b, c... on one new PostgreSQL database and the test Redis, each
 * on its own fixed loopback port (so nginx's upstream list stays valid across `restart`), and
 * nginx in front. The first node starts alone (it migrates the database and writes the keys the
 * others load), the rest together. Every node has TRUST_PROXY_HOPS=1 when behind nginx.
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  if (!testRedisUrl) throw new Error('DEPOTLINE_TEST_REDIS_URL is not set: run through scripts/test.sh, which starts a throwaway Redis.');
  if (opts.nodes < 1 || opts.nodes > nodeNames.length) throw new Error(`startCluster: 1 to ${nodeNames.length} nodes`);
  const useNginx = opts.nginx ?? true;
  const env = await createTestEnv('postgres');
  const redisPrefix = `test-${crypto.randomBytes(6).toString('hex')}:`;
  const processes = new Map<string, ServerProcess>();
  const ports = new Map<string, number>();
  let loadBalancer: LoadBalancer | null = null;

  const launch = async (name: string): Promise<ClusterNode> => {
    const port = ports.get(name)!;
    const server = startServerProcess(env, {
      HOST: '127.0.0.1', REDIS_URL: testRedisUrl, REDIS_KEY_PREFIX: redisPrefix,
      ...(useNginx ? { TRUST_PROXY_HOPS: '1' } : {}),
      ...opts.extraEnv,
      PORT: String(port),
    });
    processes.set(name, server);
    const url = await waitForServer(server);
    return { name, url, port, pid: server.child.pid!, output: server.output, kill: (signal) => stopServerProcess(server, signal) };
  };

  const stop = async () => {
    await loadBalancer?.stop();
    await Promise.all([...processes.values()].map((p) => stopServerProcess(p)));
    await env.dispose();
    const redis = new Redis(testRedisUrl);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  };

  try {
    const names = [...nodeNames.slice(0, opts.nodes)];
    for (const name of names) ports.set(name, await freePort());
    const nodes = [await launch(names[0]!)];
    nodes.push(...await Promise.all(names.slice(1).map(launch)));
    if (useNginx) {
      loadBalancer = await startLoadBalancer({
        upstreamPorts: nodes.map((n) => n.port), dir: path.join(env.dir, 'nginx'),
        workerProcesses: opts.nginxWorkerProcesses, workerConnections: opts.nginxWorkerConnections,
      });
    }
    const cluster: Cluster = {
      url: loadBalancer?.url ?? nodes[0]!.url,
      nodes,
      env,
      redisPrefix,
      loadBalancer,
      restart: async (name) => {
        const index = cluster.nodes.findIndex((n) => n.name === name);
        if (index < 0) throw new Error(`no node ${name}`);
        await stopServerProcess(processes.get(name)!, 'SIGKILL');
        const node = await launch(name);
        cluster.nodes[index] = node;
        return node;
      },
      stop,
    };
    return cluster;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
