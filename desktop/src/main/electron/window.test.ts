import type { BrowserWindowConstructorOptions } from 'electron';
import { describe, expect, it } from 'vitest';
import { createMainWindow, type BrowserWindowConstructor } from './window';

function fakeWindowClass() {
  const made: Array<{ options: BrowserWindowConstructorOptions; events: string[]; guarded: string[]; openHandler: unknown }> = [];
  class FakeWindow {
    readonly record;
    readonly webContents;
    constructor(options: BrowserWindowConstructorOptions) {
      this.record = { options, events: [] as string[], guarded: [] as string[], openHandler: null as unknown };
      const record = this.record;
      this.webContents = {
        on: (event: string) => record.guarded.push(event),
        setWindowOpenHandler: (handler: unknown) => {
          record.openHandler = handler;
        },
      };
      made.push(record);
    }
    once(event: string) {
      this.record.events.push(event);
    }
  }
  return { BrowserWindow: FakeWindow as unknown as BrowserWindowConstructor, made };
}

describe('the console window (Electron security checklist)', () => {
  it('is created with isolation, sandbox, no Node, web security and nothing experimental', () => {
    const { BrowserWindow, made } = fakeWindowClass();
    createMainWindow({ BrowserWindow }, { preloadPath: '/app/preload.cjs', devTools: false });
    const prefs = made[0]!.options.webPreferences!;
    expect(prefs).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true, // 3
      sandbox: true, // 4
      nodeIntegration: false, // 2
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true, // 6
      allowRunningInsecureContent: false, // 8
      experimentalFeatures: false, // 9
      webviewTag: false, // 11
      navigateOnDragDrop: false,
      devTools: false,
    });
    expect(prefs.enableBlinkFeatures).toBeUndefined(); // 10
    expect(prefs.disableBlinkFeatures).toBe('Auxclick');
    expect(made[0]!.options.show).toBe(false);
  });

  it('has its navigation, webview and window-open guards installed before anything loads', () => {
    const { BrowserWindow, made } = fakeWindowClass();
    createMainWindow({ BrowserWindow }, { preloadPath: '/p', devTools: true });
    expect(made[0]!.guarded).toEqual(expect.arrayContaining(['will-navigate', 'will-redirect', 'will-attach-webview']));
    expect((made[0]!.openHandler as () => unknown)()).toEqual({ action: 'deny' });
  });
});
