import { z } from 'zod';

/**
 * The depot's own map tile server, as IT sets it in the policy file (`mapTiles`). Without it the
 * console's map draws stops, routes and drivers on a plain canvas and asks nobody for anything:
 * there is no default tile server, and no third party is ever asked by default.
 *
 * The tile server's origin is the only one the page's Content-Security-Policy then gains
 * (img-src and connect-src, see ../security/renderer-policy.ts), so the address is held to the
 * same rules as the sync server's: https://, or http:// on this machine only; no user name or
 * password in it; the placeholders only in the path or query, so the origin is fixed.
 */
const placeholders = ['{z}', '{x}', '{y}'] as const;
const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why a tile URL template is refused, or null when it is acceptable. */
export function tileUrlProblem(template: string): string | null {
  for (const p of placeholders) if (!template.includes(p)) return `the tile address must contain ${placeholders.join(', ')}`;
  let url: URL;
  try {
    url = new URL(template.replaceAll('{z}', '0').replaceAll('{x}', '0').replaceAll('{y}', '0'));
  } catch {
    return 'the tile address is not a valid URL';
  }
  if (url.username || url.password) return 'the tile address must not carry a user name or password';
  const authority = /^[a-z]+:\/\/([^/]*)/i.exec(template)?.[1] ?? '';
  if (/[{}%]/.test(authority) || !template.startsWith(`${url.protocol}//${url.host}/`)) return 'the tile server\'s host must be written out in lower case, without placeholders';
  if (url.hash) return 'the tile address must not have a #fragment';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && loopbackHosts.has(url.hostname)) return null;
  return 'the tile server must use https:// (http:// only on this computer)';
}

export const MapTilesPolicy = z.object({
  /** Raster tiles, e.g. `https://tiles.depot.example/{z}/{x}/{y}.png` (256 px, Web Mercator). */
  url: z.string().max(2048).superRefine((value, ctx) => {
    const problem = tileUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  /** Shown under the map, as the tiles' licence asks (e.g. "© OpenStreetMap contributors"). */
  attribution: z.string().min(1).max(300).optional(),
  maxZoom: z.number().int().min(1).max(22).default(19),
}).strict();
export type MapTilesPolicy = z.infer<typeof MapTilesPolicy>;

/** The one origin the page may load tiles from, or null when no tile server is configured. */
export function tileOriginOf(tiles: MapTilesPolicy | null | undefined): string | null {
  if (!tiles) return null;
  return new URL(tiles.url.replaceAll('{z}', '0').replaceAll('{x}', '0').replaceAll('{y}', '0')).origin;
}
