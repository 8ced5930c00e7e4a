import { describe, expect, it, vi } from 'vitest';
import {
  appEntryUrl, contentSecurityPolicy, denyDevicePermission, denyPermissionCheck, denyPermissionRequest, guardWebContents, isAllowedRequestUrl,
  isAppUrl, securityHeaders, type GuardableWebContents, type PreventableEvent,
} from './renderer-policy';

const directives = (csp: string) => new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));

describe('Electron security checklist, as configuration', () => {
  it('7: the CSP allows scripts and styles only from the app, no eval, no inline code, no network, no frames', () => {
    const csp = directives(contentSecurityPolicy());
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(["'self'"]);
    // Images: the app's own, and blob: URLs the page makes of a proof photo main handed it.
    expect(csp.get('img-src')).toEqual(["'self'", 'blob:']);
    expect(csp.get('connect-src')).toEqual(["'none'"]);
    for (const d of ['object-src', 'frame-src', 'base-uri', 'form-action', 'frame-ancestors']) expect(csp.get(d)).toEqual(["'none'"]);
    // The map library's worker is a file of the app: no blob: or data: workers.
    expect(csp.get('worker-src')).toEqual(["'self'"]);
    const all = contentSecurityPolicy();
    for (const loose of ['unsafe-eval', 'unsafe-inline', 'wasm-unsafe-eval', 'data:', 'http:', 'https:', '*']) expect(all).not.toContain(loose);
    expect([...csp.entries()].filter(([, values]) => values.includes('blob:')).map(([name]) => name)).toEqual(['img-src']);
  });

  it('7: only the e2e host widens connect-src, and only by what it names', () => {
    const csp = directives(contentSecurityPolicy({ extraConnectSrc: ["'self'"] }));
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
  });

  it('7: without a tile server the policy names no origin but the app', () => {
    const csp = contentSecurityPolicy();
    expect(contentSecurityPolicy({ tileOrigin: null })).toBe(csp);
    expect(csp).not.toMatch(/https?:\/\//);
    expect(directives(csp).get('img-src')).toEqual(["'self'", 'blob:']);
  });

  it('7: a configured tile server is allowed for images and fetches, exactly its origin and nothing more', () => {
    const origin = 'https://tiles.depot.example';
    const csp = directives(contentSecurityPolicy({ tileOrigin: origin }));
    expect(csp.get('img-src')).toEqual(["'self'", 'blob:', origin]);
    expect(csp.get('connect-src')).toEqual([origin]);
    for (const d of ['script-src', 'style-src', 'font-src', 'worker-src']) expect(csp.get(d), d).toEqual(["'self'"]);
    for (const d of ['default-src', 'frame-src', 'object-src', 'media-src']) expect(csp.get(d), d).toEqual(["'none'"]);
    const all = [...csp.values()].flat();
    expect(all.filter((v) => v.includes('://'))).toEqual([origin, origin]);
    // The test host keeps its own connect-src next to the tile server's.
    expect(directives(contentSecurityPolicy({ extraConnectSrc: ["'self'"], tileOrigin: origin })).get('connect-src')).toEqual(["'self'", origin]);
    expect(securityHeaders({ tileOrigin: origin })['Content-Security-Policy']).toBe(contentSecurityPolicy({ tileOrigin: origin }));
  });

  it('1: the tile server\'s origin is reachable only when configured, and only that origin', () => {
    const origin = 'https://tiles.depot.example';
    expect(isAllowedRequestUrl('https://tiles.depot.example/3/4/2.png')).toBe(false);
    expect(isAllowedRequestUrl('https://tiles.depot.example/3/4/2.png', origin)).toBe(true);
    for (const url of [
      'http://tiles.depot.example/3/4/2.png', 'https://tiles.depot.example:8443/3/4/2.png', 'https://evil.tiles.depot.example/1.png',
      'https://tiles.depot.example.evil/1.png', 'https://user:pw@tiles.depot.example/1.png', 'https://tile.openstreetmap.org/0/0/0.png', 'not a url',
    ]) expect(isAllowedRequestUrl(url, origin), url).toBe(false);
  });

  it('every app response carries the CSP, nosniff and no-store', () => {
    const headers = securityHeaders();
    expect(headers['Content-Security-Policy']).toBe(contentSecurityPolicy());
    expect(headers['X-Content-Type-Options']).toBe('nosniff');
    expect(headers['Cache-Control']).toBe('no-store');
  });

  it('18: only app://depotline pages count as the app', () => {
    expect(isAppUrl(appEntryUrl)).toBe(true);
    expect(isAppUrl('app://depotline/assets/index.js')).toBe(true);
    for (const url of [
      'file:///opt/Depotline/resources/app.asar/index.html', 'https://depotline.app/', 'http://127.0.0.1/', 'app://evil/index.html',
      'app://depotline.evil/', 'app://user:pw@depotline/', 'app://depotline:81/', 'javascript:alert(1)', 'about:blank', '', null, undefined, 'not a url',
    ]) expect(isAppUrl(url), String(url)).toBe(false);
  });

  it('1: the page may request nothing but app:// (DevTools aside)', () => {
    expect(isAllowedRequestUrl('app://depotline/assets/x.js')).toBe(true);
    expect(isAllowedRequestUrl('devtools://devtools/bundled/inspector.html')).toBe(true);
    // The page's own blob: URLs (a proof photo shown from memory); no other origin's.
    expect(isAllowedRequestUrl('blob:app://depotline/4f1c2f2e-5d7a-4b8e-9c1a-0a1b2c3d4e5f')).toBe(true);
    for (const url of [
      'https://cdn.example.com/x.js', 'http://127.0.0.1:8787/api/v1/me', 'ws://127.0.0.1:8787/socket.io/', 'file:///etc/passwd', 'data:text/javascript,alert(1)',
      'data:image/png;base64,iVBORw0KGgo=', 'blob:https://evil.example/4f1c2f2e', 'blob:app://depotline.evil/4f1c2f2e',
    ]) {
      expect(isAllowedRequestUrl(url), url).toBe(false);
    }
  });

  it('5: every permission request is denied, every check answers no', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fullscreen']) {
      const callback = vi.fn();
      denyPermissionRequest({}, permission, callback);
      expect(callback).toHaveBeenCalledExactlyOnceWith(false);
    }
    expect(denyPermissionCheck()).toBe(false);
    expect(denyDevicePermission()).toBe(false);
  });

  it('11-14: navigation, redirects and webviews are prevented, new windows denied', () => {
    const listeners = new Map<string, (event: PreventableEvent, ...args: unknown[]) => void>();
    let openHandler: (() => { action: 'deny' }) | null = null;
    const contents: GuardableWebContents = {
      on: (event, listener) => listeners.set(event, listener),
      setWindowOpenHandler: (handler) => {
        openHandler = handler;
      },
    };
    guardWebContents(contents);
    for (const [event, url] of [['will-navigate', 'https://phish.example/'], ['will-navigate', 'app://depotline/other.html'], ['will-redirect', 'https://x/'], ['will-attach-webview', '']] as const) {
      const preventDefault = vi.fn();
      listeners.get(event)!({ preventDefault }, url);
      expect(preventDefault, event).toHaveBeenCalledOnce();
    }
    expect(openHandler!()).toEqual({ action: 'deny' });
  });
});
