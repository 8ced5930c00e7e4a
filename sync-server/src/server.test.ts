import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';
import { startTestServer, type TestServer } from '../test/harness';

describe('transport configuration', () => {
  it('refuses to listen beyond loopback without TLS, with an actionable message', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/TLS_CERT_FILE and TLS_KEY_FILE/);
    expect(() => loadConfig({ HOST: '192.168.1.10', TLS_CERT_FILE: '/x' })).toThrow(/both/);
    expect(loadConfig({ HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0', TLS_CERT_FILE: '/c', TLS_KEY_FILE: '/k' }).tls).toEqual({ certFile: '/c', keyFile: '/k' });
  });

  it('rejects out-of-range settings instead of running with them', () => {
    expect(() => loadConfig({ ACCESS_TOKEN_TTL_S: '3600' })).toThrow(/ACCESS_TOKEN_TTL_S/);
    expect(() => loadConfig({ SESSION_ABSOLUTE_TIMEOUT_S: '999999' })).toThrow(/SESSION_ABSOLUTE_TIMEOUT_S/);
  });
});

describe('HTTPS and WSS', () => {
  let server: TestServer;
  let ca: Buffer;
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'depotline-tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    // A real self-signed certificate for 127.0.0.1, made with the system's openssl.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    ca = fs.readFileSync(cert);
    server = await startTestServer('sqlite', { tls: { certFile: cert, keyFile: key } });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('serves the API over TLS 1.2+ with HSTS', async () => {
    expect(server.url.startsWith('https://127.0.0.1:')).toBe(true);
    const res = await new Promise<{ status: number; hsts: string | undefined; protocol: string | null }>((resolve, reject) => {
      const req = https.get(`${server.url}/healthz`, { ca }, (r) => {
        r.resume();
        resolve({ status: r.statusCode ?? 0, hsts: r.headers['strict-transport-security'], protocol: (r.socket as TLSSocket).getProtocol() });
      });
      req.on('error', reject);
    });
    expect(res.status).toBe(200);
    expect(res.hsts).toContain('max-age=31536000');
    expect(['TLSv1.2', 'TLSv1.3']).toContain(res.protocol);
    await expect(new Promise((resolve, reject) => {
      const req = https.get(`${server.url}/healthz`, { ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, resolve);
      req.on('error', reject);
    })).rejects.toThrow();
  });

  it('accepts sockets over WSS and still demands a token', async () => {
    const s = connect(server.url, { transports: ['websocket'], reconnection: false, forceNew: true, ca: ca.toString('utf8') });
    const code = await new Promise<string>((resolve) => {
      s.once('connect', () => resolve('connected'));
      s.once('connect_error', (e: Error & { data?: { error?: { code?: string } } }) => resolve(e.data?.error?.code ?? e.message));
    });
    s.close();
    expect(code).toBe('unauthenticated');
  });
});
