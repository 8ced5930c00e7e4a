import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveAppRequest } from './app-protocol';
import { contentSecurityPolicy } from './renderer-policy';

describe('app:// protocol (checklist item 18: a custom scheme, not file://)', () => {
  let root: string;
  let renderer: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-app-'));
    renderer = path.join(root, 'renderer');
    fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>x</title>');
    fs.writeFileSync(path.join(renderer, 'assets', 'index-abc.js'), 'console.log(1)');
    fs.writeFileSync(path.join(renderer, 'assets', 'index-abc.js.map'), '{}');
    fs.writeFileSync(path.join(renderer, '.env'), 'SECRET=1');
    fs.writeFileSync(path.join(root, 'secret.txt'), 'outside the renderer');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const get = (url: string, method = 'GET') => serveAppRequest(renderer, { url, method });

  it('serves the built files with their type and the security headers', async () => {
    const index = await get('app://depotline/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    expect(index.headers.get('cache-control')).toBe('no-store');
    const js = await get('app://depotline/assets/index-abc.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1)');
  });

  it('never serves anything outside the renderer directory, dotfiles, source maps or unknown types', async () => {
    for (const url of [
      'app://depotline/../secret.txt', 'app://depotline/%2e%2e/secret.txt', 'app://depotline/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      'app://depotline/..%5csecret.txt', 'app://depotline/.env', 'app://depotline/assets/index-abc.js.map', 'app://depotline/assets/',
      'app://depotline/assets//index-abc.js', 'app://depotline/%00index.html', 'app://depotline/%E0%A4%A', 'app://depotline/missing.js',
    ]) {
      expect((await get(url)).status, url).toBe(404);
    }
  });

  it('answers only its own host, and only GET/HEAD', async () => {
    expect((await get('app://evil/index.html')).status).toBe(404);
    expect((await get('app://depotline/index.html', 'POST')).status).toBe(405);
    expect((await get('app://depotline/index.html', 'HEAD')).status).toBe(200);
  });
});
