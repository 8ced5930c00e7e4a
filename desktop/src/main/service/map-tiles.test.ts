import { describe, expect, it } from 'vitest';
import { resolvePolicy } from './managed-policy';
import { MapTilesPolicy, tileOriginOf, tileUrlProblem } from './map-tiles';

describe('the map tile server in the managed policy', () => {
  it('is absent by default: no tiles, no origin', () => {
    expect(resolvePolicy(null, {}).mapTiles).toBeUndefined();
    expect(tileOriginOf(resolvePolicy(null, {}).mapTiles)).toBeNull();
  });

  it('comes from the policy file, with its origin for the page policy', () => {
    const policy = resolvePolicy(JSON.stringify({ mapTiles: { url: 'https://tiles.depot.example/osm/{z}/{x}/{y}.png?style=light', attribution: '© OpenStreetMap contributors' } }), {});
    expect(policy.mapTiles).toEqual({ url: 'https://tiles.depot.example/osm/{z}/{x}/{y}.png?style=light', attribution: '© OpenStreetMap contributors', maxZoom: 19 });
    expect(tileOriginOf(policy.mapTiles)).toBe('https://tiles.depot.example');
    expect(tileOriginOf(MapTilesPolicy.parse({ url: 'http://127.0.0.1:8080/{z}/{x}/{y}.png' }))).toBe('http://127.0.0.1:8080');
  });

  it('cannot be set from the environment (it widens the page policy)', () => {
    expect(resolvePolicy(null, { DEPOTLINE_MAP_TILES: 'https://evil.example/{z}/{x}/{y}.png', DEPOTLINE_MAP_TILE_URL: 'https://evil.example/{z}/{x}/{y}.png' }).mapTiles).toBeUndefined();
  });

  it('refuses addresses that would loosen the policy or are not tile templates', () => {
    const refused: Array<[string, RegExp]> = [
      ['http://tiles.depot.example/{z}/{x}/{y}.png', /https/],
      ['https://tiles.depot.example/{z}/{x}.png', /must contain/],
      ['https://{z}.tiles.example/{z}/{x}/{y}.png', /host/],
      ['https://{s}.tiles.example/{z}/{x}/{y}.png', /not a valid URL|host/],
      ['https://user:secret@tiles.depot.example/{z}/{x}/{y}.png', /user name or password/],
      ['https://tiles.depot.example/{z}/{x}/{y}.png#x', /fragment/],
      ['file:///srv/tiles/{z}/{x}/{y}.png', /https/],
      ['javascript:alert(1)//{z}{x}{y}', /https|host/],
      ['{z}{x}{y}', /not a valid URL/],
    ];
    for (const [url, why] of refused) expect(tileUrlProblem(url), url).toMatch(why);
    expect(() => resolvePolicy(JSON.stringify({ mapTiles: { url: 'http://tiles.depot.example/{z}/{x}/{y}.png' } }), {})).toThrow(/mapTiles\.url/);
    expect(() => resolvePolicy(JSON.stringify({ mapTiles: { url: 'https://tiles.depot.example/{z}/{x}/{y}.png', extra: 1 } }), {})).toThrow(/mapTiles/);
    expect(() => resolvePolicy(JSON.stringify({ mapTiles: { url: 'https://tiles.depot.example/{z}/{x}/{y}.png', maxZoom: 30 } }), {})).toThrow(/maxZoom/);
  });
});
