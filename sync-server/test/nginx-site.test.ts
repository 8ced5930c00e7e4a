/**
 * The production nginx site file (deploy/nginx/depotline.conf) as it ships: `nginx -t` accepts it
 * with its TLS block (only the certificate and log paths point at a throwaway directory), and the
 * running site hides nginx's version and lets through the largest body any setting allows.
 * The other multi-process tests run the same file with the listen/TLS block replaced.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type LoadBalancer, nginxBinary, siteFile, startLoadBalancer } from './load-balancer';

describe('the production nginx site file', () => {
  let dir: string;
  let lb: LoadBalancer;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-nginx-site-'));
    // No process listens on the upstream: every proxied request ends in nginx's own 502.
    lb = await startLoadBalancer({ upstreamPorts: [await freePort()], dir: path.join(dir, 'lb') });
  });
  afterAll(async () => {
    await lb?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes `nginx -t` as shipped, TLS lines included, with a self-signed certificate in place of the real one', () => {
    if (!nginxBinary) throw new Error('DEPOTLINE_TEST_NGINX is not set: run the suite through scripts/test.sh, which finds nginx.');
    const tls = path.join(dir, 'tls');
    fs.mkdirSync(tls);
    // The openssl command line tool comes with the TLS libraries nginx itself needs.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-subj', '/CN=depotline.example.com', '-days', '1', '-keyout', path.join(tls, 'privkey.pem'), '-out', path.join(tls, 'fullchain.pem')], { stdio: 'ignore' });
    const shipped = fs.readFileSync(siteFile, 'utf8');
    const site = shipped.replaceAll('/etc/depotline/tls/', `${tls}/`).replaceAll('/var/log/nginx/', `${tls}/`);
    // Exactly the certificate and the two log paths changed.
    expect(shipped.split('\n').filter((l, i) => l !== site.split('\n')[i])).toHaveLength(4);
    fs.writeFileSync(path.join(tls, 'site.conf'), site);
    const conf = path.join(tls, 'nginx.conf');
    const temp = (name: string) => path.join(tls, name);
    fs.writeFileSync(conf, [
      `pid ${temp('nginx.pid')};`,
      `error_log ${temp('error.log')};`,
      'events {}',
      `http { client_body_temp_path ${temp('c')}; proxy_temp_path ${temp('p')}; fastcgi_temp_path ${temp('f')}; uwsgi_temp_path ${temp('u')}; scgi_temp_path ${temp('s')};`,
      `  include ${temp('site.conf')};`,
      '}',
      '',
    ].join('\n'));
    const check = spawnSync(nginxBinary, ['-t', '-p', tls, '-c', conf], { encoding: 'utf8' });
    expect(check.stderr).toContain('test is successful');
    expect(check.stderr).not.toContain('[warn]');
    expect(check.status).toBe(0);
  });

  it('names no nginx version in its headers or error pages', async () => {
    const res = await fetch(`${lb.url}/api/v1/health`);
    expect(res.status).toBe(502);
    expect(res.headers.get('server')).toBe('nginx');
    expect(await res.text()).not.toMatch(/nginx\/\d/);
  });

  it('passes on a body of the largest proof photo a setting allows, and answers 413 only above it', async () => {
    // DEPOTLINE_POD_MAX_FILE_BYTES allows at most 50,000,000 bytes (config.ts): nginx must pass it
    // on so the process answers with its own error. The 502 is the missing upstream's answer.
    const largest = await fetch(`${lb.url}/api/v1/proofs`, { method: 'POST', body: new Uint8Array(50_000_000) });
    expect(largest.status).toBe(502);
    const tooLarge = await fetch(`${lb.url}/api/v1/proofs`, { method: 'POST', body: new Uint8Array(48 * 1024 * 1024 + 1) });
    expect(tooLarge.status).toBe(413);
  });
});
