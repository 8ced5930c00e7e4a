/**
 * nginx in front of test server processes, configured by the production site file
 * (deploy/nginx/depotline.conf): only its two marked blocks change, the upstream servers (the
 * processes' loopback ports) and the listen/TLS lines (plain HTTP on a loopback port). Every
 * path nginx writes (pid, logs, temp files) is inside a directory of the caller's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const siteFile = path.join(repoRoot, 'deploy/nginx/depotline.conf');

/** The nginx binary `npm test` found (scripts/test.sh exports it), or null when there is none. */
export const nginxBinary: string | null = process.env.DEPOTLINE_TEST_NGINX ?? null;

/** A loopback port nothing listens on right now (another process may still take it first). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function replaceBlock(text: string, name: string, lines: readonly string[]): string {
  const pattern = new RegExp(`^([ \\t]*)# depotline:${name} begin\\n[\\s\\S]*?^[ \\t]*# depotline:${name} end\\n`, 'm');
  if (!pattern.test(text)) throw new Error(`${siteFile} has no "# depotline:${name} begin/end" block`);
  return text.replace(pattern, (_all, indent: string) => lines.map((l) => `${indent}${l}\n`).join(''));
}

/** The site file with loopback upstreams and a plain-HTTP loopback listener. */
export function renderSite(opts: { listenPort: number; upstreamPorts: readonly number[]; failTimeoutS?: number }): string {
  const site = fs.readFileSync(siteFile, 'utf8');
  const failTimeout = opts.failTimeoutS ?? 5;
  const withUpstreams = replaceBlock(site, 'upstreams',
    opts.upstreamPorts.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=${failTimeout}s;`));
  return replaceBlock(withUpstreams, 'listen', [`listen 127.0.0.1:${opts.listenPort};`, 'server_name localhost;']);
}

export interface LoadBalancerOptions {
  upstreamPorts: readonly number[];
  /** nginx's prefix directory: config, pid, logs and temp files go here. */
  dir: string;
  /** Worker processes (default 1). */
  workerProcesses?: number | 'auto';
  /** Connections per worker (default 4096); each proxied socket takes two. */
  workerConnections?: number;
}

export interface LoadBalancer {
  url: string;
  port: number;
  confFile: string;
  output(): string;
  stop(): Promise<void>;
}

function mainConf(dir: string, site: string, opts: LoadBalancerOptions): string {
  const connections = opts.workerConnections ?? 4096;
  const p = (name: string) => path.join(dir, name);
  return [
    // The master only keeps root when the tests run as root; workers then stay root too, rather
    // than switching to "nobody", who could not write the temp directories here.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    `worker_processes ${opts.workerProcesses ?? 1};`,
    `worker_rlimit_nofile ${connections * 2 + 64};`,
    `pid ${p('nginx.pid')};`,
    `error_log ${p('error.log')} warn;`,
    `events { worker_connections ${connections}; }`,
    'http {',
    `  access_log off;`,
    `  client_body_temp_path ${p('client_body')};`,
    `  proxy_temp_path ${p('proxy')};`,
    `  fastcgi_temp_path ${p('fastcgi')};`,
    `  uwsgi_temp_path ${p('uwsgi')};`,
    `  scgi_temp_path ${p('scgi')};`,
    // The site's own log lines point at /var/log/nginx in production; here they are replaced
    // with the listen block, so only the lines above apply.
    site.split('\n').map((l) => `  ${l}`).join('\n'),
    '}',
    '',
  ].join('\n');
}

/** Starts nginx in the foreground on a free loopback port; resolves once it accepts connections. */
export async function startLoadBalancer(opts: LoadBalancerOptions): Promise<LoadBalancer> {
  if (!nginxBinary) throw new Error('DEPOTLINE_TEST_NGINX is not set: run the suite through scripts/test.sh, which finds nginx.');
  fs.mkdirSync(opts.dir, { recursive: true });
  let lastError = '';
  // The free port may be taken between picking and binding it, hence a few attempts.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const confFile = path.join(opts.dir, 'nginx.conf');
    fs.writeFileSync(confFile, mainConf(opts.dir, renderSite({ listenPort: port, upstreamPorts: opts.upstreamPorts }), opts));
    const child = spawn(nginxBinary, ['-p', opts.dir, '-c', confFile, '-e', 'stderr', '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const output = () => {
      const log = path.join(opts.dir, 'error.log');
      return out + (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
    };
    if (await listening(port, child)) {
      return { url: `http://127.0.0.1:${port}`, port, confFile, output, stop: () => stopNginx(child, exited) };
    }
    await stopNginx(child, exited);
    lastError = output();
  }
  throw new Error(`nginx did not start:\n${lastError}`);
}

async function listening(port: number, child: ChildProcess): Promise<boolean> {
  const end = Date.now() + 10_000;
  while (Date.now() < end && child.exitCode === null) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return child.exitCode === null;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function stopNginx(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    // SIGQUIT would wait for open WebSockets; SIGTERM is nginx's fast shutdown.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
