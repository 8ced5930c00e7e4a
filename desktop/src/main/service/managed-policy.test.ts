import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { idleLockMs, offlineLockMs, policyFileLocations, PolicyError, resolvePolicy, resolvePolicyFrom, serverNetworkOptions } from './managed-policy';

const defaults = { serverUrl: 'http://127.0.0.1:8787', idleLockMinutes: 10, offlineDays: 30, podOfflineCache: false, requireEnrolledDevices: false };
const pin = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

describe('console policy', () => {
  it('defaults: a loopback server, a 10 minute idle lock, 30 offline days, no proof cache, enrollment not required', () => {
    const policy = resolvePolicy(null, {});
    expect(policy).toEqual(defaults);
    expect(idleLockMs(policy)).toBe(600_000);
    expect(offlineLockMs(policy)).toBe(30 * 86_400_000);
  });

  it('every setting, valid, as IT would write it', () => {
    const file = {
      serverUrl: 'https://depot.example.com', serverCaFile: '/etc/depotline/depot-ca.pem', serverSpkiSha256: [pin],
      proxyUrl: 'http://proxy.corp.example:3128', proxyBypass: ['.corp.example', '10.0.0.5', 'localhost:8787'],
      idleLockMinutes: 5, offlineDays: 7, podOfflineCache: true, requireEnrolledDevices: true, enrollmentToken: `dle_${'A'.repeat(43)}`,
      mapTiles: { url: 'https://tiles.depot.example/{z}/{x}/{y}.png' },
    };
    expect(resolvePolicy(JSON.stringify(file), {})).toEqual({ ...file, mapTiles: { ...file.mapTiles, maxZoom: 19 } });
    expect(resolvePolicy('{"serverCaFile":"C:\\\\ProgramData\\\\Depotline\\\\ca.pem"}', {}).serverCaFile).toBe('C:\\ProgramData\\Depotline\\ca.pem');
  });

  it.each([
    ['serverUrl', '"not a url"', /serverUrl: must be a URL/],
    ['serverCaFile', '"ca.pem"', /serverCaFile: must be an absolute path to a PEM file/],
    ['serverCaFile', '42', /serverCaFile: /],
    ['serverSpkiSha256', '["abc"]', /serverSpkiSha256\.0: each pin must be a base64 SHA-256/],
    ['serverSpkiSha256', '[]', /serverSpkiSha256: must list at least one pin/],
    ['proxyUrl', '"socks5://proxy:1080"', /proxyUrl: must be an http:\/\/ or https:\/\/ proxy URL/],
    ['proxyBypass', '["bad host/"]', /proxyBypass\.0: each entry must be a host name/],
    ['proxyBypass', '"localhost"', /proxyBypass: /],
    ['idleLockMinutes', '120', /idleLockMinutes: must be between 0\.05 and 30/],
    ['idleLockMinutes', '0', /idleLockMinutes: must be between 0\.05 and 30/],
    ['idleLockMinutes', '"10"', /idleLockMinutes: must be a number of minutes/],
    ['offlineDays', '0', /offlineDays: must be between 1 and 365/],
    ['offlineDays', '400', /offlineDays: must be between 1 and 365/],
    ['offlineDays', 'null', /offlineDays: must be a number of days/],
    ['podOfflineCache', '"yes"', /podOfflineCache: must be true or false/],
    ['requireEnrolledDevices', '1', /requireEnrolledDevices: must be true or false/],
    ['enrollmentToken', '"abc"', /enrollmentToken: an enrollment token is dle_ and 43 url-safe characters/],
    ['mapTiles', '{"url":"http://tiles.example/{z}/{x}/{y}.png"}', /mapTiles\.url: /],
    ['eta', '{"nonsense":1}', /eta\.nonsense: not a Depotline setting/],
  ])('%s = %s is refused with a message naming the setting', (setting, value, message) => {
    const run = () => resolvePolicy(`{"${setting}":${value}}`, {});
    expect(run).toThrow(PolicyError);
    expect(run).toThrow(message);
  });

  it('an unknown setting is named, not ignored', () => {
    expect(() => resolvePolicy('{"idleLockMinute":5}', {})).toThrow(/idleLockMinute: not a Depotline setting/);
  });

  it('the user\'s settings (environment) never loosen the policy', () => {
    const env = { DEPOTLINE_SERVER_URL: 'https://evil.example', DEPOTLINE_IDLE_LOCK_MINUTES: '30', DEPOTLINE_OFFLINE_DAYS: '365' };
    // Policy set: its server stands; limits can only get tighter.
    expect(resolvePolicy('{"serverUrl":"https://depot.example","idleLockMinutes":5,"offlineDays":7}', env))
      .toMatchObject({ serverUrl: 'https://depot.example', idleLockMinutes: 5, offlineDays: 7 });
    expect(resolvePolicy('{"idleLockMinutes":5,"offlineDays":7}', { DEPOTLINE_IDLE_LOCK_MINUTES: '2', DEPOTLINE_OFFLINE_DAYS: '3' }))
      .toMatchObject({ idleLockMinutes: 2, offlineDays: 3 });
    // No policy: the environment fills in (development).
    expect(resolvePolicy(null, env)).toMatchObject({ serverUrl: 'https://evil.example', idleLockMinutes: 30, offlineDays: 365 });
    // Policy-only settings cannot come from the environment at all.
    const loose = { DEPOTLINE_POD_OFFLINE_CACHE: 'true', podOfflineCache: 'true', requireEnrolledDevices: 'false', DEPOTLINE_PROXY_URL: 'http://x:1', proxyUrl: 'http://x:1' };
    expect(resolvePolicy('{"requireEnrolledDevices":true}', loose)).toMatchObject({ podOfflineCache: false, requireEnrolledDevices: true });
    expect(resolvePolicy(null, loose).proxyUrl).toBeUndefined();
  });

  it('a later policy source wins per setting, and a bad one is named', () => {
    expect(resolvePolicyFrom([{ where: 'file', settings: { offlineDays: 3, idleLockMinutes: 4 } }, { where: 'registry', settings: { offlineDays: 9 } }], {}))
      .toMatchObject({ offlineDays: 9, idleLockMinutes: 4 });
    expect(() => resolvePolicyFrom([{ where: 'file', settings: {} }, { where: 'HKLM\\X', settings: { idleLockMinutes: 31 } }], {}))
      .toThrow('The Depotline policy in HKLM\\X is not valid: idleLockMinutes: must be between 0.05 and 30');
  });

  it('refuses a broken policy instead of falling back to defaults', () => {
    expect(() => resolvePolicy('{not json', {})).toThrow(PolicyError);
    expect(() => resolvePolicy('[]', {})).toThrow(PolicyError);
    expect(() => resolvePolicy(null, { DEPOTLINE_IDLE_LOCK_MINUTES: 'soon' })).toThrow(/environment are not valid: idleLockMinutes/);
    expect(() => resolvePolicy(null, { DEPOTLINE_OFFLINE_DAYS: '0' })).toThrow(/offlineDays: must be between 1 and 365/);
  });

  it('the CA file is read and checked at start: unreadable or not a certificate stops the console naming serverCaFile', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-ca-'));
    try {
      const policy = (file: string) => resolvePolicy(JSON.stringify({ serverCaFile: file, proxyUrl: 'http://proxy:3128', proxyBypass: ['localhost'], serverSpkiSha256: [pin] }), {});
      const read = (p: string) => fs.readFileSync(p, 'utf8');
      expect(() => serverNetworkOptions(policy(path.join(dir, 'missing.pem')), read)).toThrow(/serverCaFile: .*missing\.pem cannot be read \(ENOENT\)/);
      fs.writeFileSync(path.join(dir, 'junk.pem'), 'hello');
      expect(() => serverNetworkOptions(policy(path.join(dir, 'junk.pem')), read)).toThrow(/serverCaFile: .*does not hold a PEM certificate/);
      expect(serverNetworkOptions(resolvePolicy(null, {}), read)).toEqual({});
      expect(serverNetworkOptions(resolvePolicy(`{"serverSpkiSha256":["${pin}"],"proxyUrl":"http://proxy:3128"}`, {}), read))
        .toEqual({ spkiSha256: [pin], proxyUrl: 'http://proxy:3128' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lives where users cannot write, per platform', () => {
    expect(policyFileLocations('linux', {})).toEqual(['/etc/depotline/policy.json']);
    expect(policyFileLocations('win32', { ProgramData: 'D:\\PD' })).toEqual(['D:\\PD\\Depotline\\policy.json']);
    expect(policyFileLocations('darwin', {})).toEqual(['/Library/Application Support/Depotline/policy.json']);
  });
});
