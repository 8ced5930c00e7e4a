import { describe, expect, it } from 'vitest';
import { idleLockMs, policyFileLocations, PolicyError, resolvePolicy } from './managed-policy';

describe('console policy', () => {
  it('defaults: a loopback server and a 10 minute idle lock', () => {
    const policy = resolvePolicy(null, {});
    expect(policy).toEqual({ serverUrl: 'http://127.0.0.1:8787', idleLockMinutes: 10, podOfflineCache: false });
    expect(idleLockMs(policy)).toBe(600_000);
  });

  it('the policy file wins over the environment, so a user cannot loosen what IT set', () => {
    const env = { DEPOTLINE_SERVER_URL: 'https://evil.example', DEPOTLINE_IDLE_LOCK_MINUTES: '30' };
    expect(resolvePolicy('{"serverUrl":"https://depot.example","idleLockMinutes":5}', env)).toEqual({ serverUrl: 'https://depot.example', idleLockMinutes: 5, podOfflineCache: false });
    expect(resolvePolicy(null, env)).toEqual({ serverUrl: 'https://evil.example', idleLockMinutes: 30, podOfflineCache: false });
  });

  it('proof files stay off the computer unless the policy file allows an offline cache; the environment cannot', () => {
    expect(resolvePolicy(null, { DEPOTLINE_POD_OFFLINE_CACHE: 'true', podOfflineCache: 'true' }).podOfflineCache).toBe(false);
    expect(resolvePolicy('{"podOfflineCache":true}', {}).podOfflineCache).toBe(true);
    expect(() => resolvePolicy('{"podOfflineCache":"yes"}', {})).toThrow(/podOfflineCache/);
  });

  it('refuses a broken policy instead of falling back to defaults', () => {
    expect(() => resolvePolicy('{not json', {})).toThrow(PolicyError);
    expect(() => resolvePolicy('[]', {})).toThrow(PolicyError);
    expect(() => resolvePolicy('{"idleLockMinutes":120}', {})).toThrow(/idleLockMinutes/);
    expect(() => resolvePolicy('{"idleLockMinutes":0}', {})).toThrow(PolicyError);
    expect(() => resolvePolicy('{"unknownSetting":true}', {})).toThrow(PolicyError);
    expect(() => resolvePolicy(null, { DEPOTLINE_IDLE_LOCK_MINUTES: 'soon' })).toThrow(PolicyError);
  });

  it('lives where users cannot write, per platform', () => {
    expect(policyFileLocations('linux', {})).toEqual(['/etc/depotline/policy.json']);
    expect(policyFileLocations('win32', { ProgramData: 'D:\\PD' })).toEqual(['D:\\PD\\Depotline\\policy.json']);
    expect(policyFileLocations('darwin', {})).toEqual(['/Library/Application Support/Depotline/policy.json']);
  });
});
