import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { loadManagedPolicy, PolicyError } from './managed-policy';
import { parsePlist, parseRegQuery, readPolicySources, windowsPolicyKey, type PolicyHost } from './policy-sources';

/**
 * Captured `reg query "HKLM\SOFTWARE\Policies\Depotline\Console" /s` output (reg.exe on Windows
 * 11, CRLF line ends). Windows is not reachable here: the mock boundary is `PolicyHost.regQuery`,
 * which runs reg.exe; everything after it (this parser and the policy schema) is what runs there.
 */
const regOutput = [
  '',
  'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Depotline\\Console',
  '    serverUrl    REG_SZ    https://depot.example.com',
  '    idleLockMinutes    REG_SZ    2.5',
  '    offlineDays    REG_DWORD    0xe',
  '    podOfflineCache    REG_DWORD    0x0',
  '    requireEnrolledDevices    REG_DWORD    0x1',
  '    proxyUrl    REG_SZ    http://proxy.corp.example:3128',
  '    proxyBypass    REG_MULTI_SZ    .corp.example\\0localhost',
  '    serverSpkiSha256    REG_MULTI_SZ    47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  '',
  'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Depotline\\Console\\mapTiles',
  '    url    REG_SZ    https://tiles.depot.example/{z}/{x}/{y}.png',
  '    maxZoom    REG_DWORD    0x12',
  '',
].join('\r\n');

/** A configuration profile's payload as macOS writes it to managed preferences (after `plutil -convert xml1`). */
const plistXml = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>PayloadUUID</key>
\t<string>7A1C2E0D-0000-4000-8000-000000000001</string>
\t<key>PayloadType</key>
\t<string>com.depotline.console</string>
\t<key>serverUrl</key>
\t<string>https://depot.example.com</string>
\t<key>idleLockMinutes</key>
\t<real>2.5</real>
\t<key>offlineDays</key>
\t<integer>14</integer>
\t<key>podOfflineCache</key>
\t<false/>
\t<key>requireEnrolledDevices</key>
\t<true/>
\t<key>proxyBypass</key>
\t<array>
\t\t<string>.corp.example</string>
\t\t<string>localhost</string>
\t</array>
\t<key>mapTiles</key>
\t<dict>
\t\t<key>url</key>
\t\t<string>https://tiles.depot.example/{z}/{x}/{y}.png</string>
\t\t<key>attribution</key>
\t\t<string>&#169; OpenStreetMap contributors &amp; Depot</string>
\t</dict>
</dict>
</plist>
`;

const host = (platform: NodeJS.Platform, files: Record<string, string | Buffer>, extra: Partial<PolicyHost> = {}): PolicyHost => ({
  platform,
  env: { ProgramData: 'C:\\ProgramData' },
  readFile: (p) => (files[p] === undefined ? null : Buffer.from(files[p])),
  regQuery: () => null,
  plistToXml: () => {
    throw new Error('not macOS');
  },
  ...extra,
});

describe('Windows: the registry policy key', () => {
  it('reads values and subkeys from reg query output, with each registry type as its setting needs', () => {
    expect(parseRegQuery(regOutput, windowsPolicyKey)).toEqual({
      serverUrl: 'https://depot.example.com',
      idleLockMinutes: 2.5,
      offlineDays: 14,
      podOfflineCache: false,
      requireEnrolledDevices: true,
      proxyUrl: 'http://proxy.corp.example:3128',
      proxyBypass: ['.corp.example', 'localhost'],
      serverSpkiSha256: ['47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='],
      mapTiles: { url: 'https://tiles.depot.example/{z}/{x}/{y}.png', maxZoom: 18 },
    });
  });

  it('refuses a registry type no setting uses, naming the value', () => {
    expect(() => parseRegQuery(`${windowsPolicyKey.replace('HKLM', 'HKEY_LOCAL_MACHINE')}\r\n    offlineDays    REG_BINARY    0E\r\n`, windowsPolicyKey)).toThrow(/offlineDays: .*REG_BINARY/);
  });

  it('the registry key wins over the ProgramData file per setting; the rest of the file still applies', () => {
    const policy = loadManagedPolicy(host('win32', { 'C:\\ProgramData\\Depotline\\policy.json': '{"serverUrl":"https://old.example.com","offlineDays":3,"idleLockMinutes":1}' }, { regQuery: (key) => (key === windowsPolicyKey ? regOutput : null) }));
    expect(policy).toMatchObject({ serverUrl: 'https://depot.example.com', offlineDays: 14, idleLockMinutes: 2.5, requireEnrolledDevices: true, mapTiles: { maxZoom: 18 } });
  });

  it('a bad registry value stops the console with the setting and the key named', () => {
    const bad = regOutput.replace('0xe', '0x0');
    expect(() => loadManagedPolicy(host('win32', {}, { regQuery: () => bad }))).toThrow(/HKLM\\SOFTWARE\\Policies\\Depotline\\Console is not valid: offlineDays: must be between 1 and 365/);
  });

  it('no key and no file: the defaults', () => {
    expect(readPolicySources(host('win32', {}))).toEqual([]);
  });
});

describe('macOS: managed preferences', () => {
  it('parses the XML property list a configuration profile installs, without its Payload keys', () => {
    expect(parsePlist(plistXml, 'test')).toMatchObject({ serverUrl: 'https://depot.example.com', idleLockMinutes: 2.5, offlineDays: 14, proxyBypass: ['.corp.example', 'localhost'] });
    const policy = loadManagedPolicy(host('darwin', { '/Library/Managed Preferences/com.depotline.console.plist': plistXml }));
    expect(policy).toMatchObject({
      serverUrl: 'https://depot.example.com', idleLockMinutes: 2.5, offlineDays: 14, podOfflineCache: false, requireEnrolledDevices: true,
      mapTiles: { attribution: '© OpenStreetMap contributors & Depot' },
    });
  });

  it('a binary plist goes through plutil (the macOS boundary) before it is parsed', () => {
    const converted: string[] = [];
    const policy = loadManagedPolicy(host('darwin', { '/Library/Managed Preferences/com.depotline.console.plist': Buffer.from('bplist00\u0000\u0001binary') }, {
      plistToXml: (p) => {
        converted.push(p);
        return plistXml;
      },
    }));
    expect(converted).toEqual(['/Library/Managed Preferences/com.depotline.console.plist']);
    expect(policy.offlineDays).toBe(14);
  });

  it('managed preferences win over the Application Support file', () => {
    const policy = loadManagedPolicy(host('darwin', {
      '/Library/Application Support/Depotline/policy.json': '{"offlineDays":60,"podOfflineCache":true}',
      '/Library/Managed Preferences/com.depotline.console.plist': plistXml,
    }));
    expect(policy).toMatchObject({ offlineDays: 14, podOfflineCache: false });
  });

  it('refuses a property list it cannot read, and a value of the wrong type names the setting', () => {
    expect(() => parsePlist('<plist><array></array></plist>', 'x')).toThrow(/root is not a <dict>/);
    expect(() => parsePlist('<plist><dict><key>a</key><date>2026-01-01T00:00:00Z</date></dict></plist>', 'x')).toThrow(/<date> is not supported/);
    const bad = plistXml.replace('<real>2.5</real>', '<string>soon</string>');
    expect(() => loadManagedPolicy(host('darwin', { '/Library/Managed Preferences/com.depotline.console.plist': bad }))).toThrow(/idleLockMinutes: must be a number of minutes/);
  });
});

describe('Linux: /etc/depotline/policy.json', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('reads a real file through the system host (the file read is the real one)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-policy-'));
    dirs.push(dir);
    const file = path.join(dir, 'policy.json');
    fs.writeFileSync(file, JSON.stringify({ serverUrl: 'https://depot.example.com', offlineDays: 7 }));
    const { systemPolicyHost } = await import('./policy-sources');
    // The same reader, pointed at the temp file instead of /etc (which tests must not write).
    const real: PolicyHost = { ...systemPolicyHost, platform: 'linux', env: {}, readFile: (p) => systemPolicyHost.readFile(p === '/etc/depotline/policy.json' ? file : p) };
    expect(loadManagedPolicy(real)).toMatchObject({ serverUrl: 'https://depot.example.com', offlineDays: 7, idleLockMinutes: 10 });
    fs.writeFileSync(file, '{"offlineDays": 0}');
    expect(() => loadManagedPolicy(real)).toThrow(/policy in \/etc\/depotline\/policy.json is not valid: offlineDays: must be between 1 and 365/);
    fs.writeFileSync(file, '{oops');
    expect(() => loadManagedPolicy(real)).toThrow(PolicyError);
    fs.rmSync(file);
    expect(loadManagedPolicy(real)).toMatchObject({ offlineDays: 30 });
  });
});
