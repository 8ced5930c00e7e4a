import type { BrowserWindow as ElectronBrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { guardWebContents } from '../security/renderer-policy';

export type BrowserWindowConstructor = new (options: BrowserWindowConstructorOptions) => ElectronBrowserWindow;

/**
 * The console window. The web preferences are written out in full, literally, at the
 * constructor call, so both a reader and Electronegativity see every security setting where
 * it takes effect (numbers: electronjs.org/docs/latest/tutorial/security, as in desktop/README.md).
 * The constructor is passed in so a unit test can check the options without Electron.
 */
export function createMainWindow({ BrowserWindow }: { BrowserWindow: BrowserWindowConstructor }, options: { preloadPath: string; devTools: boolean }): ElectronBrowserWindow {
  const window = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 1024,
    minHeight: 640,
    show: false,
    title: 'Depotline',
    backgroundColor: '#f4f5f7',
    webPreferences: {
      preload: options.preloadPath,
      contextIsolation: true, // 3
      sandbox: true, // 4
      nodeIntegration: false, // 2
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true, // 6
      allowRunningInsecureContent: false, // 8
      experimentalFeatures: false, // 9
      webviewTag: false, // 11
      navigateOnDragDrop: false, // 13: a dropped file or link does not replace the page
      disableBlinkFeatures: 'Auxclick', // 14: middle-click cannot open a window
      safeDialogs: true,
      spellcheck: false, // the spellchecker would download dictionaries and see customer text
      devTools: options.devTools,
    },
  });
  guardWebContents(window.webContents);
  window.once('ready-to-show', () => window.show());
  return window;
}
