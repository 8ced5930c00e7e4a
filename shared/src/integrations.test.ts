import { describe, expect, it } from 'vitest';
import { addressInRanges, canonicalAddress, parseCidr } from './cidr';
import {
  defaultDataProfile, IntegrationCreate, IntegrationUpdate, profileWidening, sensitiveProfileFields,
} from './integrations';
import { allPermissions, isMachinePermission, machinePermissions, roleNames, roleTemplates } from './permissions';

describe('address ranges for allowlists', () => {
  it('reads IPv4 and IPv6 ranges into one canonical form, single addresses as /32 and /128', () => {
    expect(parseCidr('192.0.2.0/24')).toEqual({ ok: true, cidr: '192.0.2.0/24' });
    expect(parseCidr(' 192.0.2.7 ')).toEqual({ ok: true, cidr: '192.0.2.7/32' });
    expect(parseCidr('2001:DB8:0:0::/32')).toEqual({ ok: true, cidr: '2001:db8::/32' });
    expect(parseCidr('2001:db8::1')).toEqual({ ok: true, cidr: '2001:db8::1/128' });
    expect(parseCidr('0.0.0.0/0')).toEqual({ ok: true, cidr: '0.0.0.0/0' });
  });

  it('takes an IPv4-mapped IPv6 range as the IPv4 range it maps', () => {
    expect(parseCidr('::ffff:10.0.0.0/104')).toEqual({ ok: true, cidr: '10.0.0.0/8' });
    expect(parseCidr('::ffff:198.51.100.7')).toEqual({ ok: true, cidr: '198.51.100.7/32' });
    const mapped = parseCidr('::ffff:10.0.0.0/64');
    expect(mapped.ok ? '' : mapped.message).toMatch(/at least 96/);
  });

  it('refuses what is not a range, with what is wrong', () => {
    const refused = (text: string) => {
      const r = parseCidr(text);
      expect(r.ok).toBe(false);
      return r.ok ? '' : r.message;
    };
    expect(refused('10.0.0.7/8')).toMatch(/host bits set: did you mean 10\.0\.0\.0\/8/);
    expect(refused('2001:db8::1/64')).toMatch(/did you mean 2001:db8::\/64/);
    expect(refused('10.0.0.0/33')).toMatch(/prefix length must be 0 to 32/);
    expect(refused('2001:db8::/129')).toMatch(/0 to 128/);
    expect(refused('10.0.0.0/')).toMatch(/prefix length/);
    expect(refused('10.0.0.0/8/8')).toMatch(/prefix length/);
    expect(refused('fe80::1%eth0')).toMatch(/zone ids/);
    // Shorthand IPv4 forms that browsers and inet_aton accept are not ranges anyone means to write.
    for (const text of ['127.1', '2130706433', '0x7f.0.0.1', '010.0.0.1', 'example.com', '', '1.2.3.4.5', '256.0.0.0/8']) {
      expect(refused(text)).toMatch(/not an IPv4 or IPv6 address range|not an address range/);
    }
  });

  it('matches addresses against ranges, IPv4-mapped callers as IPv4, never across families', () => {
    const list = ['10.0.0.0/8', '2001:db8::/32'];
    expect(addressInRanges('10.200.0.1', list)).toBe(true);
    expect(addressInRanges('::ffff:10.200.0.1', list)).toBe(true);
    expect(addressInRanges('11.0.0.1', list)).toBe(false);
    expect(addressInRanges('::ffff:11.0.0.1', list)).toBe(false);
    expect(addressInRanges('2001:db8:ffff::1', list)).toBe(true);
    expect(addressInRanges('2001:db9::1', list)).toBe(false);
    expect(addressInRanges('::1', ['0.0.0.0/0'])).toBe(false);
    expect(addressInRanges('127.0.0.1', ['::/0'])).toBe(false);
    expect(addressInRanges('garbage', ['0.0.0.0/0'])).toBe(false);
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('integration contracts', () => {
  const create = { name: 'acme-shop', kind: 'shop', contact: 'ops@acme.example', scopes: [{ locationId: 'depot-a', permissions: ['orders.write'] }] };

  it('a new integration gets the default profile and no contact or billing field', () => {
    const parsed = IntegrationCreate.parse(create);
    expect(parsed.dataProfile).toEqual(defaultDataProfile);
    expect(parsed.dataProfile.some((f) => sensitiveProfileFields.includes(f))).toBe(false);
    for (const f of sensitiveProfileFields) expect(IntegrationCreate.safeParse({ ...create, dataProfile: ['orderRef', f] }).success).toBe(false);
  });

  it('only machine permissions are scopes; each location once; the allowlist is canonical and deduplicated', () => {
    expect(IntegrationCreate.safeParse({ ...create, scopes: [{ locationId: 'depot-a', permissions: ['audit.read'] }] }).success).toBe(false);
    expect(IntegrationCreate.safeParse({ ...create, scopes: [] }).success).toBe(false);
    expect(IntegrationCreate.safeParse({ ...create, scopes: [create.scopes[0], create.scopes[0]] }).success).toBe(false);
    expect(IntegrationCreate.parse({ ...create, ipAllowlist: ['192.0.2.0/24', '::ffff:192.0.2.0/120'] }).ipAllowlist).toEqual(['192.0.2.0/24']);
    expect(IntegrationCreate.safeParse({ ...create, unknown: 1 }).success).toBe(false);
    expect(IntegrationUpdate.safeParse({}).success).toBe(false);
    expect(IntegrationUpdate.safeParse({ expectedVersion: 3 }).success).toBe(false);
  });

  it('widening names only contact and billing fields turned on', () => {
    expect(profileWidening(defaultDataProfile, [...defaultDataProfile, 'eta', 'failureReason'])).toEqual([]);
    expect(profileWidening(defaultDataProfile, ['orderRef', 'phone', 'billing'])).toEqual(['phone', 'billing']);
    expect(profileWidening(['phone'], ['phone'])).toEqual([]);
  });

  it('machine permissions are in the catalogue but in no role template', () => {
    for (const p of machinePermissions) expect(allPermissions).toContain(p);
    for (const role of roleNames) expect(roleTemplates[role].permissions.filter(isMachinePermission)).toEqual([]);
    expect(roleTemplates.admin.permissions).toContain('integration.manage');
    expect(roleTemplates.manager.permissions).not.toContain('integration.manage');
  });
});
