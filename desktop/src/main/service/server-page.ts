/**
 * Whether a page the server asks the console to open in the browser is on the configured
 * server's own origin, exactly (scheme, host and port). The console never hands the browser
 * an address someone else chose (RFC 8252 section 8.1; Electron checklist item 15, "do not use
 * openExternal with untrusted content"): the security-key pages are the server's, or nothing.
 */
export function isServerPage(url: string, serverOrigin: string | null): boolean {
  if (serverOrigin === null) return false;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.origin === serverOrigin;
  } catch {
    return false;
  }
}
