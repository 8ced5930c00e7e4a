/**
 * The Electron main process: thin. It applies the security policy (../security/renderer-policy.ts) to
 * Electron's objects, serves the renderer over app://, and connects the bridge's IPC channels
 * to the ConsoleService, which holds all the logic and runs without Electron.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, powerMonitor, protocol, safeStorage, session, shell } from 'electron';
import { selectKeyVault, ServerNetwork } from '../../core';
import { BridgeDispatcher, bridgeHandlersFor } from '../bridge/dispatch';
import { ConsoleService } from '../service/console-service';
import { idleLockMs, loadManagedPolicy, PolicyError, serverNetworkOptions, type ConsolePolicy } from '../service/managed-policy';
import { tileOriginOf } from '../service/map-tiles';
import { KeytarUnlockVerifierVault } from '../service/unlock-verifier';
import { appSchemePrivileges, serveAppRequest } from '../security/app-protocol';
import {
  appEntryUrl, contentSecurityPolicy, denyDevicePermission, denyPermissionCheck, denyPermissionRequest, guardWebContents, isAllowedRequestUrl,
} from '../security/renderer-policy';
import { isTrustedAppSender, registerBridge, sendBridgeEvent } from './ipc';
import { createMainWindow } from './window';

const here = import.meta.dirname;
const rendererDir = path.join(here, 'renderer');
const preloadPath = path.join(here, 'preload.cjs');
/** The save dialog's file type, per kind of file the console saves. */
const saveFilters: Record<'csv' | 'xlsx' | 'zip', { name: string; extensions: string[] }> = {
  csv: { name: 'CSV file', extensions: ['csv'] },
  xlsx: { name: 'Excel workbook', extensions: ['xlsx'] },
  zip: { name: 'Proof-of-delivery bundle', extensions: ['zip'] },
};

// Item 4: every renderer sandboxed, whatever a window's own options say.
app.enableSandbox();
// Item 18: must happen before `ready`.
protocol.registerSchemesAsPrivileged([appSchemePrivileges]);

// One console per user session: two would fight over the same profile database.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  run();
}

function run(): void {
  let window: BrowserWindow | null = null;
  let service: ConsoleService | null = null;

  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  // Items 11-14 on every webContents that will ever exist, not only the ones we create.
  app.on('web-contents-created', (_event, contents) => {
    guardWebContents(contents);
  });
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', () => {
    void service?.dispose();
  });

  app.whenReady().then(() => {
    let policy: ConsolePolicy;
    let network: ServerNetwork;
    try {
      // The platform's policy sources (policy-sources.ts); a bad one stops the console naming the setting.
      policy = loadManagedPolicy();
      network = new ServerNetwork(serverNetworkOptions(policy, (file) => fs.readFileSync(file, 'utf8')));
    } catch (err) {
      dialog.showErrorBox('Depotline cannot start', err instanceof PolicyError ? err.message : String(err));
      app.exit(1);
      return;
    }

    // The page may reach the depot's tile server when IT configured one, and nothing else.
    const pagePolicy = { tileOrigin: tileOriginOf(policy.mapTiles) };
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler(denyPermissionRequest); // 5
    ses.setPermissionCheckHandler(denyPermissionCheck); // 5
    ses.setDevicePermissionHandler(denyDevicePermission);
    // A second wall behind the CSP: the page can load nothing but app:// (1, 7).
    ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedRequestUrl(details.url, pagePolicy.tileOrigin) }));
    ses.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy(pagePolicy)] } });
    });
    protocol.handle('app', (request) => serveAppRequest(rendererDir, request, pagePolicy));
    // The page never talks to the sync server (the CSP and the request filter above allow app://
    // and the tile server only); the core does, through `network`. Map tiles are Chromium's
    // requests, so the policy's proxy applies to them here too. The pin does not: it is for the sync server.
    if (policy.proxyUrl) {
      void ses.setProxy({ proxyRules: policy.proxyUrl, proxyBypassRules: [...(policy.proxyBypass ?? []), '<local>'].join(',') });
    }

    const profilesDir = path.join(app.getPath('userData'), 'profiles');
    fs.mkdirSync(profilesDir, { recursive: true, mode: 0o700 });
    service = new ConsoleService({
      serverUrl: policy.serverUrl,
      profilesDir,
      // safeStorage where it has a real backend, keytar otherwise; keys move across (vault-selection.ts).
      vault: selectKeyVault({ safeStorage, dir: profilesDir }).vault,
      verifiers: new KeytarUnlockVerifierVault(),
      idleLockMs: idleLockMs(policy),
      mapTiles: policy.mapTiles ?? null,
      ...(policy.eta ? { eta: policy.eta } : {}),
      podOfflineCache: policy.podOfflineCache,
      offlineDays: policy.offlineDays,
      network,
      requireEnrolledDevices: policy.requireEnrolledDevices,
      ...(policy.enrollmentToken ? { enrollmentToken: policy.enrollmentToken } : {}),
      deviceName: `Depotline on ${os.hostname()}`,
      // Only the security-key page of the configured server is ever handed over: the service
      // checks the address against the server's origin first (console-security.ts).
      openExternal: (url) => shell.openExternal(url),
      // Exports are written where the user picks in the native dialog (export-save.ts writes them).
      chooseSavePath: async ({ fileName, format }) => {
        const options = {
          title: 'Save export',
          defaultPath: path.join(app.getPath('downloads'), fileName),
          filters: [saveFilters[format]],
        };
        const answer = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
        return answer.canceled || !answer.filePath ? null : answer.filePath;
      },
      // Order files are read by main from where the user picks them (console-import.ts).
      chooseOpenPath: async ({ title, extensions }) => {
        const options = { title, properties: ['openFile' as const], filters: [{ name: 'Orders (CSV, Excel)', extensions: [...extensions] }] };
        const answer = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
        return answer.canceled ? null : (answer.filePaths[0] ?? null);
      },
    });
    registerBridge(ipcMain, new BridgeDispatcher(bridgeHandlersFor(service), { isTrustedSender: isTrustedAppSender }));

    window = createMainWindow({ BrowserWindow }, { preloadPath, devTools: !app.isPackaged });
    const target = window.webContents;
    service.onEvent((message) => sendBridgeEvent(target, message));
    // Lock with the operating system's screen lock, and before the machine sleeps.
    powerMonitor.on('lock-screen', () => void service?.lock('system'));
    powerMonitor.on('suspend', () => void service?.lock('system'));
    window.on('closed', () => {
      window = null;
    });
    return window.loadURL(appEntryUrl);
  }).catch((err: unknown) => {
    dialog.showErrorBox('Depotline cannot start', err instanceof Error ? err.message : String(err));
    app.exit(1);
  });
}
