/**
 * What the console's page may do (load, navigate, open, ask for), as plain data and
 * functions, so that each item of the Electron security checklist
 * (electronjs.org/docs/latest/tutorial/security, numbered as there and in desktop/README.md)
 * is checked by a unit test without launching Electron. The Electron wiring in ../electron
 * only hands Electron objects to these.
 */

/** Item 18: the renderer is served from a custom, privileged scheme, never file://. */
export const appScheme = 'app';
export const appHost = 'depotline';
export const appOrigin = `${appScheme}://${appHost}`;
export const appEntryUrl = `${appOrigin}/index.html`;

/** True only for URLs of the console's own pages. */
export function isAppUrl(url: string | null | undefined): boolean {
  if (!url) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === `${appScheme}:` && parsed.host === appHost && parsed.username === '' && parsed.password === '' && parsed.port === '';
}

/** What widens the page's policy, and by exactly what. */
export interface PagePolicyOptions {
  /** For the e2e test host only, whose stand-in for the preload reaches it over loopback HTTP. */
  extraConnectSrc?: readonly string[];
  /** The depot's map tile server (`mapTiles` in the managed policy), as an origin; null: none. */
  tileOrigin?: string | null;
}

/**
 * Item 7: a strict Content-Security-Policy. Scripts and styles only from the app itself (no
 * inline script, no eval, no remote code); images only local (the TOTP QR code is drawn as
 * SVG elements, not a data: URL) and `blob:` URLs, which only the page itself can make: a
 * proof-of-delivery photo is handed over by main and shown from memory that way (never data:,
 * which any injected markup could carry); no network from the page at all (`connect-src 'none'`:
 * every request goes through the bridge to main); no frames, plugins, forms or <base>.
 * Workers only from the app's own files: the map library's worker (a file of the build, never
 * a blob: or data: URL).
 *
 * The map's tile server, when IT configured one, is the only origin the page may reach: its
 * tiles as images and fetches (img-src, connect-src), nothing else of it. Without one, the
 * policy names no origin but the app. `extraConnectSrc` exists for the e2e test host;
 * production passes nothing.
 */
export function contentSecurityPolicy(options: PagePolicyOptions = {}): string {
  const tiles = options.tileOrigin ? [options.tileOrigin] : [];
  const connectSources = [...(options.extraConnectSrc ?? []), ...tiles];
  const connect = connectSources.length > 0 ? connectSources.join(' ') : "'none'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    ["img-src 'self' blob:", ...tiles].join(' '),
    "font-src 'self'",
    `connect-src ${connect}`,
    "media-src 'none'",
    "object-src 'none'",
    "frame-src 'none'",
    "worker-src 'self'",
    "manifest-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Response headers for every app:// response (and the test host's). */
export function securityHeaders(options: PagePolicyOptions = {}): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(options),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=(), bluetooth=(), payment=(), clipboard-read=()',
    // Item 1 and the renderer's "stores nothing" rule: no HTTP cache of anything the app serves.
    'Cache-Control': 'no-store',
  };
}

/** What Electron passes to navigation guards: enough to refuse. */
export interface PreventableEvent {
  preventDefault(): void;
}

/**
 * Item 13: limit navigation. The console is one page; it never navigates, so every attempt is
 * refused, including to other app:// URLs (an injected link cannot swap the page).
 */
export function refuseNavigation(event: PreventableEvent): void {
  event.preventDefault();
}

/** Item 14: no new windows, and so no `shell.openExternal` on anything a page supplies (item 15). */
export function refuseWindowOpen(): { action: 'deny' } {
  return { action: 'deny' };
}

/** Items 11 and 12: no <webview> is ever attached (and `webviewTag` is off besides). */
export function refuseWebviewAttach(event: PreventableEvent): void {
  event.preventDefault();
}

/** Item 5: every permission request (camera, notifications, geolocation, ...) is denied. */
export function denyPermissionRequest(_webContents: unknown, _permission: string, callback: (granted: boolean) => void): void {
  callback(false);
}

/** Item 5: and every permission check answers "not granted". */
export function denyPermissionCheck(): boolean {
  return false;
}

/** Device choosers (HID, serial, USB, Bluetooth) likewise. */
export function denyDevicePermission(): boolean {
  return false;
}

/**
 * Requests the page may make at all. The renderer loads only app:// resources, and map tiles
 * from the configured tile server's origin (none by default); anything else (http, https, ws,
 * file, data for scripts, ...) is cancelled before it leaves, a second wall behind the CSP.
 * devtools:// stays reachable for development builds' DevTools.
 */
export function isAllowedRequestUrl(url: string, tileOrigin: string | null = null): boolean {
  if (isAppUrl(url)) return true;
  // A blob: URL the page made of a proof photo it holds in memory (only the page's own origin can make one).
  if (url.startsWith('blob:app://depotline/')) return true;
  if (tileOrigin && originOf(url) === tileOrigin) return true;
  return url.startsWith('devtools://');
}

function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.username === '' && parsed.password === '' ? parsed.origin : null;
  } catch {
    return null;
  }
}

/** The part of Electron's WebContents these guards use (lets tests hand in a fake). */
export interface GuardableWebContents {
  on(event: 'will-navigate' | 'will-redirect' | 'will-attach-webview', listener: (event: PreventableEvent, ...args: unknown[]) => void): unknown;
  setWindowOpenHandler(handler: () => { action: 'deny' }): void;
}

/** Items 11-14 on one WebContents. */
export function guardWebContents(contents: GuardableWebContents): void {
  contents.on('will-navigate', (event) => refuseNavigation(event));
  contents.on('will-redirect', (event) => refuseNavigation(event));
  contents.on('will-attach-webview', (event) => refuseWebviewAttach(event));
  contents.setWindowOpenHandler(refuseWindowOpen);
}
