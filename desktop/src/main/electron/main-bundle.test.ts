/**
 * The built main process (dist/app/main.js, as electron-builder packages it) loaded under
 * Node with a recording stand-in for the `electron` module, since the Electron binary cannot
 * be downloaded here. Proves the bundle loads (native modules external and resolvable, no
 * CommonJS/ESM mix-ups) and that main wires the security policy into Electron's objects in
 * the order Electron needs: sandbox and privileged scheme before `ready`, handlers before the
 * page loads, app:// as the only content.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bridgeCallNames, bridgeChannel } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../security/renderer-policy';

const desktop = path.resolve(import.meta.dirname, '../../..');

interface Recorded {
  events: Array<[string, ...unknown[]]>;
  appListeners: Record<string, Array<(...args: unknown[]) => void>>;
  ipc: Map<string, (event: unknown, args: unknown) => Promise<unknown>>;
  protocols: Map<string, (request: { url: string; method: string }) => Promise<Response>>;
  windows: Array<{ options: { webPreferences: Record<string, unknown> }; guards: string[]; openHandler: (() => unknown) | null; loaded: string | null }>;
  session: Record<string, (...args: unknown[]) => unknown>;
  ready(): void;
}

// CommonJS with static `exports.x =` assignments, so the ESM bundle's named imports resolve.
const electronStub = `
const calls = globalThis.__electron = { events: [], appListeners: {}, ipc: new Map(), protocols: new Map(), windows: [], session: {} };
const record = (...e) => calls.events.push(e);
let resolveReady;
const ready = new Promise((r) => { resolveReady = r; });
calls.ready = () => resolveReady();
exports.app = {
  isPackaged: false,
  enableSandbox: () => record('app.enableSandbox'),
  requestSingleInstanceLock: () => { record('app.requestSingleInstanceLock'); return true; },
  quit: () => record('app.quit'),
  exit: (code) => record('app.exit', code),
  on: (event, fn) => { record('app.on', event); (calls.appListeners[event] ??= []).push(fn); },
  whenReady: () => { record('app.whenReady'); return ready; },
  getPath: () => globalThis.__electronUserData,
};
exports.BrowserWindow = class {
  constructor(options) {
    const w = { options, guards: [], openHandler: null, loaded: null };
    calls.windows.push(w);
    record('new BrowserWindow');
    this.webContents = {
      on: (event) => { w.guards.push(event); return this.webContents; },
      setWindowOpenHandler: (fn) => { w.openHandler = fn; },
      isDestroyed: () => false, getURL: () => w.loaded ?? '', send: () => undefined,
    };
    this.loadURL = async (url) => { record('loadURL', url); w.loaded = url; };
  }
  once() {} on() {} isMinimized() { return false; } restore() {} focus() {}
};
exports.protocol = {
  registerSchemesAsPrivileged: (schemes) => record('protocol.registerSchemesAsPrivileged', schemes),
  handle: (scheme, fn) => { record('protocol.handle', scheme); calls.protocols.set(scheme, fn); },
};
exports.session = { defaultSession: {
  setPermissionRequestHandler: (fn) => { record('setPermissionRequestHandler'); calls.session.permissionRequest = fn; },
  setPermissionCheckHandler: (fn) => { record('setPermissionCheckHandler'); calls.session.permissionCheck = fn; },
  setDevicePermissionHandler: (fn) => { record('setDevicePermissionHandler'); calls.session.devicePermission = fn; },
  webRequest: {
    onBeforeRequest: (fn) => { record('onBeforeRequest'); calls.session.beforeRequest = fn; },
    onHeadersReceived: (fn) => { record('onHeadersReceived'); calls.session.headersReceived = fn; },
  },
} };
exports.ipcMain = { handle: (channel, fn) => { calls.ipc.set(channel, fn); } };
exports.powerMonitor = { on: (event) => record('powerMonitor.on', event) };
exports.dialog = { showErrorBox: (title, message) => record('dialog.showErrorBox', title, message) };
exports.shell = { openExternal: async (url) => record('shell.openExternal', url) };
`;

describe('the bundled Electron main process', () => {
  let out: string;
  let calls: Recorded;

  beforeAll(async () => {
    fs.mkdirSync(path.join(desktop, 'dist'), { recursive: true });
    // Inside desktop/dist, so the bundle's external packages resolve from the workspace.
    out = fs.mkdtempSync(path.join(desktop, 'dist', 'main-bundle-test-'));
    const build = spawnSync(process.execPath, [path.join(desktop, 'scripts/build.mjs'), '--out', out], { encoding: 'utf8', timeout: 120_000 });
    expect(build.status, build.stderr).toBe(0);
    fs.mkdirSync(path.join(out, 'node_modules/electron'), { recursive: true });
    fs.writeFileSync(path.join(out, 'node_modules/electron/index.js'), electronStub);
    fs.writeFileSync(path.join(out, 'node_modules/electron/package.json'), '{"name":"electron","main":"index.js"}');
    (globalThis as Record<string, unknown>)['__electronUserData'] = path.join(out, 'user-data');
    process.env['DEPOTLINE_SERVER_URL'] = 'http://127.0.0.1:9';
    await import(pathToFileURL(path.join(out, 'main.js')).href);
    calls = (globalThis as unknown as { __electron: Recorded }).__electron;
  }, 120_000);
  afterAll(() => {
    fs.rmSync(out, { recursive: true, force: true });
  });

  const names = () => calls.events.map((e) => e[0]);

  it('before ready: sandbox for every renderer, app:// registered as privileged, one instance', () => {
    expect(names().slice(0, 4)).toEqual(['app.enableSandbox', 'protocol.registerSchemesAsPrivileged', 'app.requestSingleInstanceLock', 'app.on']);
    const schemes = calls.events.find((e) => e[0] === 'protocol.registerSchemesAsPrivileged')![1];
    expect(schemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }]);
    expect(Object.keys(calls.appListeners)).toEqual(expect.arrayContaining(['second-instance', 'web-contents-created', 'window-all-closed']));
  });

  it('on ready: denies permissions, blocks non-app requests, serves app://, then opens the window', async () => {
    calls.ready();
    await expect.poll(() => calls.windows[0]?.loaded ?? null).toBe('app://depotline/index.html');
    const order = names();
    for (const step of ['setPermissionRequestHandler', 'setPermissionCheckHandler', 'onBeforeRequest', 'protocol.handle']) {
      expect(order.indexOf(step), step).toBeGreaterThan(-1);
      expect(order.indexOf(step), `${step} before the window`).toBeLessThan(order.indexOf('new BrowserWindow'));
    }
    const granted: boolean[] = [];
    calls.session['permissionRequest']!({}, 'media', (g: boolean) => granted.push(g));
    expect(granted).toEqual([false]);
    expect(calls.session['permissionCheck']!()).toBe(false);
    const decisions: unknown[] = [];
    for (const url of ['https://cdn.example/x.js', 'app://depotline/assets/a.js']) calls.session['beforeRequest']!({ url }, (d: unknown) => decisions.push(d));
    expect(decisions).toEqual([{ cancel: true }, { cancel: false }]);

    const w = calls.windows[0]!;
    expect(w.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(w.options.webPreferences['preload']).toBe(path.join(out, 'preload.cjs'));
    expect(fs.existsSync(w.options.webPreferences['preload'] as string)).toBe(true);
    expect(w.guards).toEqual(expect.arrayContaining(['will-navigate', 'will-attach-webview']));
    expect(w.openHandler!()).toEqual({ action: 'deny' });
    expect(fs.statSync(path.join(out, 'user-data/profiles')).mode & 0o777).toBe(0o700);
  });

  it('serves the built renderer with the CSP from app://, and nothing else', async () => {
    const handle = calls.protocols.get('app')!;
    const index = await handle({ url: 'app://depotline/index.html', method: 'GET' });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    expect(await index.text()).toContain('<div id="root">');
    expect((await handle({ url: 'app://depotline/../../main.js', method: 'GET' })).status).toBe(404);
    expect((await handle({ url: 'app://depotline/preload.cjs', method: 'GET' })).status).toBe(404);
  });

  it('answers bridge calls from the console page only, through the real service', async () => {
    expect([...calls.ipc.keys()].sort()).toEqual(bridgeCallNames.map((n) => bridgeChannel(n)).sort());
    const getState = calls.ipc.get(bridgeChannel('getState'))!;
    expect(await getState({ senderFrame: { url: 'app://depotline/index.html', parent: null } }, {}))
      .toEqual({ ok: true, value: { screen: 'sign_in', serverUrl: 'http://127.0.0.1:9', notice: null } });
    expect(await getState({ senderFrame: { url: 'https://evil.example/', parent: null } }, {})).toMatchObject({ ok: false, error: { code: 'untrusted_sender' } });
  });

  it('guards every webContents created later, not just the window it made', () => {
    const guards: string[] = [];
    let denied: unknown = null;
    for (const listener of calls.appListeners['web-contents-created'] ?? []) {
      listener({}, { on: (event: string) => guards.push(event), setWindowOpenHandler: (fn: () => unknown) => { denied = fn(); } });
    }
    expect(guards).toEqual(expect.arrayContaining(['will-navigate', 'will-redirect', 'will-attach-webview']));
    expect(denied).toEqual({ action: 'deny' });
  });
});
