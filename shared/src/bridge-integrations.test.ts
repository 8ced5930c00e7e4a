import { describe, expect, it } from 'vitest';
import { bridgeCalls, integrationBridgeCalls, type BridgeCallName } from './index';

const at = { locationId: 'depot-north', integrationId: 'i1' };
const fields = { kind: 'courier', contact: 'Kim at Swift Couriers', scopes: [{ locationId: 'depot-north', scopes: ['status.read'] }], ipAllowlist: [], autoSuspend: false };
const parses = <K extends BridgeCallName>(name: K, args: unknown) => bridgeCalls[name].args.safeParse(args);
const issues = <K extends BridgeCallName>(name: K, args: unknown) => {
  const parsed = parses(name, args);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.message);
};

const key = {
  id: 'dlk_AbCdEfGh12345678', integrationId: 'i1', name: 'web shop', scopes: ['orders.write'], status: 'active', createdAt: 1, createdBy: 'ada',
  expiresAt: 2, endsAt: null, replacedBy: null, revokedAt: null, lastUsedAt: null, lastUsedIp: null,
};

describe('the Integrations screen\'s bridge contract', () => {
  it('takes IPv4 and IPv6 addresses and CIDR blocks in the allowlist, and refuses anything else with the line named', () => {
    const allowlist = (ipAllowlist: string[]) => parses('createIntegration', { locationId: 'depot-north', name: 'swift', integration: { ...fields, ipAllowlist } });
    expect(allowlist(['203.0.113.0/24', '198.51.100.7', '2001:db8::/48', '::ffff:192.0.2.1']).success).toBe(true);
    for (const bad of ['203.0.113.0/33', '300.1.1.1', 'swift.example', '10.0.0.7/8', '2001:db8::/129', 'fe80::1%eth0', '']) {
      const parsed = allowlist(['192.0.2.0/24', bad]);
      expect(parsed.success, bad).toBe(false);
      expect(parsed.error?.issues[0]?.path, bad).toEqual(['integration', 'ipAllowlist', 1]);
    }
    expect(issues('createIntegration', { locationId: 'depot-north', name: 'swift', integration: { ...fields, ipAllowlist: ['300.1.1.1'] } }).join(' ')).toContain('300.1.1.1');
  });

  it('gives an integration machine scopes only: a person\'s permission is refused as a scope', () => {
    const scoped = (scopes: string[]) => parses('createIntegration', { locationId: 'depot-north', name: 'swift', integration: { ...fields, scopes: [{ locationId: 'depot-north', scopes }] } });
    expect(scoped(['orders.write', 'orders.read', 'status.read', 'pod.read']).success).toBe(true);
    for (const person of ['grant.manage', 'integration.manage', 'stop.readPhone', 'location.read']) expect(scoped([person]).success, person).toBe(false);
    expect(scoped([]).success).toBe(false);
    expect(parses('createIntegrationKey', { ...at, name: 'k', scopes: ['audit.read'], expiresAt: 5 }).success).toBe(false);
  });

  it('names follow the server\'s rule and are chosen once; every change carries the version it was made against', () => {
    expect(parses('createIntegration', { locationId: 'depot-north', name: 'Swift Couriers', integration: fields }).success).toBe(false);
    expect(parses('updateIntegration', { ...at, integration: fields }).success).toBe(false);
    expect(parses('updateIntegration', { ...at, expectedVersion: 3, integration: { ...fields, name: 'renamed' } }).success).toBe(false);
    expect(parses('setIntegrationProfile', { ...at, profile: ['orderRef'] }).success).toBe(false);
  });

  it('a data profile names known fields once; an approval reason is a few words at least', () => {
    expect(parses('setIntegrationProfile', { ...at, expectedVersion: 1, profile: ['orderRef', 'phone', 'billing'], reason: 'SMS partner sends texts' }).success).toBe(true);
    expect(parses('setIntegrationProfile', { ...at, expectedVersion: 1, profile: ['orderRef', 'dateOfBirth'] }).success).toBe(false);
    expect(parses('setIntegrationProfile', { ...at, expectedVersion: 1, profile: ['phone'], reason: 'x' }).success).toBe(false);
  });

  it('suspending says why; resuming does not need to', () => {
    expect(parses('setIntegrationSuspended', { ...at, suspended: true }).success).toBe(false);
    expect(parses('setIntegrationSuspended', { ...at, suspended: true, reason: 'key leaked in a repo' }).success).toBe(true);
    expect(parses('setIntegrationSuspended', { ...at, suspended: false }).success).toBe(true);
    expect(parses('setIntegrationSuspended', { ...at, suspended: false, reason: 'extra' }).success).toBe(false);
  });

  it('a webhook goes to an https address without credentials in it', () => {
    const hook = (url: string) => parses('createWebhook', { ...at, url, events: ['stop.delivered'] });
    expect(hook('https://hooks.swift.example/depotline?tenant=4').success).toBe(true);
    for (const bad of ['http://hooks.swift.example/', 'https://user:pw@hooks.swift.example/', 'javascript:alert(1)', 'ftp://swift.example', 'https://', 'hooks.swift.example']) {
      expect(hook(bad).success, bad).toBe(false);
    }
    expect(parses('createWebhook', { ...at, url: 'https://hooks.swift.example/', events: [] }).success).toBe(false);
    expect(parses('createWebhook', { ...at, url: 'https://hooks.swift.example/', events: ['order.deleted'] }).success).toBe(false);
  });

  it('a key needs a name, scopes and an expiry', () => {
    expect(parses('createIntegrationKey', { ...at, name: 'web shop', scopes: ['orders.write'], expiresAt: 5 }).success).toBe(true);
    expect(parses('createIntegrationKey', { ...at, name: 'web shop', scopes: ['orders.write'] }).success).toBe(false);
    expect(parses('createIntegrationKey', { ...at, name: '  ', scopes: ['orders.write'], expiresAt: 5 }).success).toBe(false);
    expect(parses('rotateIntegrationKey', { ...at, keyId: 'dlk_AbCdEfGh12345678' }).success).toBe(false);
  });

  it('a secret crosses only in the answer that made it: every other answer drops it, and the key hash with it', () => {
    const list = bridgeCalls.integrationKeys.result.parse([{ ...key, secret: 'dls_secret', secretHash: 'ab12' }]);
    expect(JSON.stringify(list)).not.toMatch(/dls_secret|secretHash|ab12|createdBy/);
    const made = bridgeCalls.createIntegrationKey.result.parse({ key: { ...key, secretHash: 'ab12' }, secret: 'dlk_AbCdEfGh12345678_0123456789abcdef' });
    expect(made.secret).toBe('dlk_AbCdEfGh12345678_0123456789abcdef');
    expect(JSON.stringify(made.key)).not.toContain('ab12');
    // No answer but the six that make a secret has a field that could carry one.
    const carriers = Object.entries(integrationBridgeCalls).filter(([, c]) => JSON.stringify(c.result.toJSONSchema({ unrepresentable: 'any' })).includes('"secret"')).map(([name]) => name);
    expect(carriers.sort()).toEqual(['createIntegrationKey', 'createOAuthClient', 'createWebhook', 'rotateIntegrationKey', 'rotateOAuthClientSecret', 'rotateWebhookSecret']);
  });

  it('activity carries status, latency and time, never a body', () => {
    const activity = bridgeCalls.integrationActivity.result.parse({
      calls: [{ at: 1, method: 'POST', route: '/api/v1/orders', status: 201, latencyMs: 12, ip: '203.0.113.9', credential: 'dlk_AbCdEfGh12345678', body: '{"customerName":"Ada"}' }],
      attempts: [{ at: 2, event: 'stop.delivered', url: 'https://hooks.swift.example/', attempt: 1, status: 500, outcome: 'retrying', error: 'http', latencyMs: 80, nextRetryAt: 3, responseBody: 'stack trace' }],
      alerts: [],
    });
    expect(JSON.stringify(activity)).not.toMatch(/customerName|stack trace/);
  });
});
