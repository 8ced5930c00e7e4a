import fs from 'node:fs';
import { resolveAppAsset } from './app-assets';
import { appScheme, isAppUrl, securityHeaders, type PagePolicyOptions } from './renderer-policy';

/**
 * Item 18 of the Electron security checklist: the console's files come from a custom scheme
 * with standard-URL semantics and a real origin (`app://depotline`), not file://, so the
 * renderer cannot read arbitrary files and the CSP's 'self' means exactly the app.
 */
export const appSchemePrivileges = {
  scheme: appScheme,
  privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
} as const;

/** The app:// handler's logic: GET of a built renderer file, with the security headers (`policy`: the tile server, when configured). */
export async function serveAppRequest(rendererDir: string, request: Pick<Request, 'url' | 'method'>, policy: PagePolicyOptions = {}): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return new Response(null, { status: 405 });
  if (!isAppUrl(request.url)) return new Response(null, { status: 404 });
  const asset = resolveAppAsset(rendererDir, new URL(request.url).pathname);
  if (!asset) return new Response(null, { status: 404 });
  let body: Buffer;
  try {
    body = await fs.promises.readFile(asset.file);
  } catch {
    return new Response(null, { status: 404 });
  }
  return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
    status: 200,
    headers: { 'Content-Type': asset.contentType, ...securityHeaders(policy) },
  });
}
