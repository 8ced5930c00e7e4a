/**
 * The fan-out baseline at cluster scale (issue 15): N bare Socket.IO relay processes
 * (lib/relay-node.ts) on fixed loopback ports, one Redis streams adapter stream between them,
 * behind nginx configured by the same production site file as the sync-server cluster
 * (sync-server/test/load-balancer.ts renders deploy/nginx/depotline.conf).
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { LoadBalancer } from '../../sync-server/test/load-balancer';
import { benchDir, benchExecArgv, stopChild } from './process';
import { sleep } from './stats';

export interface RelayCluster {
  /** nginx's URL. */
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

export interface RelayClusterOptions {
  nodes: number;
  redisUrl: string;
  redisPrefix: string;
  /** nginx's prefix directory (config, pid, logs, temp files). */
  dir: string;
  nginxWorkerProcesses?: number | 'auto';
  nginxWorkerConnections?: number;
}

async function startRelayNode(port: number, opts: RelayClusterOptions): Promise<ChildProcess> {
  const child = fork(path.join(benchDir, 'lib/relay-node.ts'), [], {
    execArgv: benchExecArgv,
    env: { ...process.env, PORT: String(port), REDIS_URL: opts.redisUrl, REDIS_KEY_PREFIX: opts.redisPrefix },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    process.stderr.write(d);
  });
  const end = Date.now() + 30_000;
  while (Date.now() < end && child.exitCode === null) {
    if (out.includes('relay listening on')) return child;
    await sleep(50);
  }
  stopChild(child);
  throw new Error(`relay node on port ${port} did not start:\n${out}`);
}

export async function startRelayCluster(opts: RelayClusterOptions): Promise<RelayCluster> {
  // Imported here: load-balancer.ts reads DEPOTLINE_TEST_NGINX when it loads, which the caller sets first.
  const { freePort, startLoadBalancer } = await import('../../sync-server/test/load-balancer');
  const children: ChildProcess[] = [];
  let lb: LoadBalancer | null = null;
  const stop = async () => {
    await lb?.stop();
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    const exited = Promise.all(running.map((c) => new Promise((resolve) => c.once('exit', resolve))));
    for (const c of running) stopChild(c);
    await exited;
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < opts.nodes; i++) ports.push(await freePort());
    children.push(...await Promise.all(ports.map((p) => startRelayNode(p, opts))));
    lb = await startLoadBalancer({ upstreamPorts: ports, dir: opts.dir, workerProcesses: opts.nginxWorkerProcesses, workerConnections: opts.nginxWorkerConnections });
    return { url: lb.url, pids: children.map((c) => c.pid!), stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
