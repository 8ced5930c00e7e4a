import { describe, expect, it } from 'vitest';
import { webhookAllowCidrs } from '../config';
import { addressRefusal, checkWebhookUrl, connectRefusal, WebhookTargetRefused } from './ssrf';

const off = { allowLoopback: false };
const on = { allowLoopback: true };

describe('webhook SSRF guard', () => {
  it('refuses every address an attacker would aim a server at, IPv4-mapped and translated forms included', () => {
    const refused: [string, RegExp][] = [
      ['127.0.0.1', /loopback/], ['127.255.1.2', /loopback/], ['::1', /loopback/],
      ['10.0.0.1', /private/], ['172.16.5.4', /private/], ['172.31.255.255', /private/], ['192.168.1.1', /private/],
      ['169.254.169.254', /link-local/], ['169.254.0.1', /link-local/], ['fe80::1', /link-local/],
      ['100.64.0.1', /carrier-grade NAT/], ['0.0.0.0', /unspecified/], ['::', /unspecified/],
      ['224.0.0.1', /multicast/], ['ff02::1', /multicast/], ['255.255.255.255', /broadcast/],
      ['fd00::1', /unique local/], ['fc12:3456::1', /unique local/],
      ['::ffff:127.0.0.1', /loopback/], ['::ffff:10.1.2.3', /private/], ['::ffff:169.254.169.254', /link-local/], ['::ffff:7f00:1', /loopback/],
      ['64:ff9b::a9fe:a9fe', /link-local.*NAT64/], ['2002:a9fe:a9fe::1', /special-purpose/], ['192.0.2.1', /special-purpose/], ['198.18.0.1', /special-purpose/],
    ];
    refused.push(
      ['168.63.129.16', /cloud host/], ['100.100.100.200', /cloud metadata/], ['fd00:ec2::254', /cloud metadata/], ['::ffff:168.63.129.16', /cloud host/],
      ['::7f00:1', /IPv4-compatible/], ['::a9fe:a9fe', /IPv4-compatible/], ['::808:808', /IPv4-compatible/],
      ['64:ff9b::7f00:1', /loopback.*NAT64/], ['64:ff9b::a00:1', /private.*NAT64/], ['64:ff9b::a83f:8110', /cloud host.*NAT64/],
      ['64:ff9b:1::808:808', /local-use NAT64/], ['192.0.0.8', /IETF/], ['198.19.255.1', /benchmarking/], ['240.0.0.1', /reserved/], ['255.255.255.254', /reserved/],
    );
    for (const [address, why] of refused) expect(addressRefusal(address, off), address).toMatch(why);
    // NAT64 of a public address is the public address (IPv6-only networks reach IPv4 receivers that way).
    expect(addressRefusal('64:ff9b::808:808', off)).toBeNull();
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34']) expect(addressRefusal(address, off), address).toBeNull();
  });

  it('the loopback allowance lets this machine through and nothing else', () => {
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(addressRefusal(address, on), address).toBeNull();
    for (const address of ['10.0.0.1', '169.254.169.254', '192.168.0.10', 'fd00::1']) expect(addressRefusal(address, on), address).not.toBeNull();
  });

  it('the on-premises allowance lets listed private networks through, and never a denied address inside them', () => {
    const onPrem = { allowLoopback: false, allowCidrs: ['10.20.0.0/16', 'fd00::/8', '192.168.0.0/16'] };
    for (const address of ['10.20.0.1', '10.20.255.254', '::ffff:10.20.1.1', 'fd00::1', '192.168.1.1']) expect(addressRefusal(address, onPrem), address).toBeNull();
    for (const address of ['10.21.0.1', '172.16.0.1', 'fd00:ec2::254', '100.100.100.200', '169.254.169.254', '127.0.0.1', '64:ff9b::a14:1', '168.63.129.16']) {
      expect(addressRefusal(address, onPrem), address).not.toBeNull();
    }
  });

  it('only private networks may be allowed (DEPOTLINE_WEBHOOK_ALLOW_CIDRS)', () => {
    expect(webhookAllowCidrs('')).toEqual([]);
    expect(webhookAllowCidrs(' 10.20.0.0/16, fd00::/8 ,192.168.4.0/24')).toEqual(['10.20.0.0/16', 'fd00::/8', '192.168.4.0/24']);
    for (const bad of ['0.0.0.0/0', '10.0.0.0/7', '169.254.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '8.8.8.0/24', '::/0', 'fe80::/10', 'nonsense', '10.0.0.1']) {
      expect(() => webhookAllowCidrs(bad), bad).toThrow(/DEPOTLINE_WEBHOOK_ALLOW_CIDRS/);
    }
  });

  it('checks a URL when it is saved: https only, no credentials, and every resolved address', async () => {
    const resolveTo = (addresses: string[]) => () => Promise.resolve(addresses);
    const refusal = (url: string, resolved: string[] = ['93.184.216.34'], policy = off) =>
      checkWebhookUrl(url, policy, resolveTo(resolved)).then(() => null, (err: unknown) => (err instanceof WebhookTargetRefused ? err.reason : String(err)));
    expect(await refusal('https://hooks.partner.example/in')).toBeNull();
    expect(await refusal('http://hooks.partner.example/in')).toMatch(/https/);
    expect(await refusal('ftp://hooks.partner.example/in')).toMatch(/https/);
    expect(await refusal('https://user:pw@hooks.partner.example/in')).toMatch(/user name or password/);
    expect(await refusal('not a url')).toMatch(/not a URL/);
    // One bad address in the answer refuses the host (a rebinding name answers both).
    // What a name resolves to is not told: the admin learns only that it is internal.
    expect(await refusal('https://rebind.partner.example/', ['93.184.216.34', '127.0.0.1'])).toBe('rebind.partner.example resolves to a private or reserved address');
    expect(await refusal('https://intranet.partner.example/', ['10.1.2.3'])).not.toMatch(/10\.1\.2\.3/);
    expect(await refusal('https://meta.partner.example/', ['169.254.169.254'])).toMatch(/private or reserved/);
    expect(await refusal('https://[::ffff:169.254.169.254]/')).toMatch(/link-local/);
    expect(await refusal('https://0x7f000001/')).toMatch(/loopback/);
    expect(await refusal('https://2130706433/')).toMatch(/loopback/);
    expect(await refusal('https://nowhere.invalid/', [])).toMatch(/no address/);
    expect(await checkWebhookUrl('https://nowhere.invalid/', off, () => Promise.reject(new Error('ENOTFOUND'))).catch((e: WebhookTargetRefused) => e.reason)).toMatch(/does not resolve/);
    // With the allowance: plain http to this machine only.
    expect(await refusal('http://localhost:8080/in', ['127.0.0.1', '::1'], on)).toBeNull();
    expect(await refusal('http://lan-box.example/in', ['192.168.0.10'], on)).toMatch(/private/);
    expect(await refusal('http://public.example/in', ['93.184.216.34'], on)).toMatch(/plain http is for loopback receivers only/);
  });

  it('refuses an IP-literal host before connecting (no lookup sees it)', () => {
    expect(connectRefusal(new URL('https://127.0.0.1:8443/'), off)).toMatch(/loopback/);
    expect(connectRefusal(new URL('https://[::1]/'), off)).toMatch(/loopback/);
    expect(connectRefusal(new URL('http://93.184.216.34/'), off)).toMatch(/https/);
    expect(connectRefusal(new URL('https://93.184.216.34/'), off)).toBeNull();
    expect(connectRefusal(new URL('https://hooks.partner.example/'), off)).toBeNull();
  });
});
