import path from 'node:path';

/**
 * Maps a request path of the console's own page (app://depotline/<path>, or the e2e test
 * host's http://127.0.0.1:<port>/<path>) to a file of the built renderer, or null. Only files
 * inside the renderer directory, only known static types: no directory listings, no dotfiles,
 * no `..` escapes (encoded or not), no source maps.
 */
const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', // the map library's worker, loaded as a module worker
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export interface AppAsset {
  file: string;
  contentType: string;
}

export function resolveAppAsset(rendererDir: string, requestPath: string): AppAsset | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const wanted = decoded === '/' || decoded === '' ? '/index.html' : decoded;
  if (!wanted.startsWith('/')) return null;
  const segments = wanted.split('/').slice(1);
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))) return null;
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, ...segments);
  const relative = path.relative(root, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return null;
  const contentType = contentTypes[path.extname(file).toLowerCase()];
  return contentType ? { file, contentType } : null;
}
