import { describe, expect, it } from 'vitest';
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
      ['64:ff9b::a9fe:a9fe', /special-purpose/], ['2002:a9fe:a9fe::1', /special-purpose/], ['192.0.2.1', /special-purpose/], ['198.18.0.1', /special-purpose/],
    ];
    for (const [address, why] of refused) expect(addressRefusal(address, off), address).toMatch(why);
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34']) expect(addressRefusal(address, off), address).toBeNull();
  });

  it('the loopback allowance lets this machine through and nothing else', () => {
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(addressRefusal(address, on), address).toBeNull();
    for (const address of ['10.0.0.1', '169.254.169.254', '192.168.0.10', 'fd00::1']) expect(addressRefusal(address, on), address).not.toBeNull();
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
    expect(await refusal('https://rebind.partner.example/', ['93.184.216.34', '127.0.0.1'])).toMatch(/rebind\.partner\.example resolves to 127\.0\.0\.1, a loopback address/);
    expect(await refusal('https://meta.partner.example/', ['169.254.169.254'])).toMatch(/link-local/);
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
