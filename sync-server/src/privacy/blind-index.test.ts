/**
 * The blind index on its own (privacy/blind-index.ts) and on the paths that write stops: E.164
 * normalisation, keyed and domain-separated values, the region setting, and every stop the demo
 * data writes (through the provisioning path the CSV import uses too) carries its index.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import { ConfigError, loadConfig } from '../config';
import type { ServerContext } from '../context';
import { readStopPii } from '../sync/stop-pii';
import { seedDemo } from '../provisioning/seed-demo';
import { emailKey, normaliseEmail, normalisePhone, phoneKey, stopIndexColumns } from './blind-index';

const keyed = (region: 'GB' | 'DE' = 'GB') => ({ blindIndexKey: crypto.randomBytes(32), config: { ...loadConfig({}), privacy: { phoneRegion: region } } });

describe('the blind index', () => {
  it('normalises a phone to E.164 whatever its format, in the configured region', () => {
    for (const raw of ['+44 7700 900123', '07700 900123', '0044 7700-900-123', '(07700) 900 123']) expect(normalisePhone(raw, 'GB')).toBe('+447700900123');
    expect(normalisePhone('030 1234567', 'DE')).toBe('+49301234567');
    expect(normalisePhone('030 1234567', 'GB')).not.toBe('+49301234567');
    for (const raw of ['1234', '', 'call me']) expect(normalisePhone(raw, 'GB')).toBeNull();
    expect(normaliseEmail('  Ann.Lee@Example.COM ')).toBe('ann.lee@example.com');
    for (const raw of ['ann', '@example.com', 'ann@', 'a b@example.com']) expect(normaliseEmail(raw)).toBeNull();
  });

  it('is keyed, truncated to 32 bits and separates phones from emails', () => {
    const ctx = keyed();
    const p = phoneKey(ctx, '07700 900123')!;
    expect(p).toMatch(/^p[0-9a-f]{8}$/);
    expect(phoneKey(ctx, '+44 7700 900123')).toBe(p);
    expect(phoneKey(keyed(), '07700 900123')).not.toBe(p);
    expect(phoneKey(ctx, '07700 900124')).not.toBe(p);
    expect(emailKey(ctx, 'ANN@example.com')).toMatch(/^e[0-9a-f]{8}$/);
    expect(emailKey(ctx, 'ANN@example.com')).toBe(emailKey(ctx, 'ann@example.com'));
    // A number written without a country code is read in the region given, or the server's.
    expect(phoneKey(ctx, '030 1234567', 'DE')).toBe(phoneKey(ctx, '+49 30 1234567'));
    expect(stopIndexColumns(ctx, { phone: null })).toEqual({ phone_bidx: null });
    expect(stopIndexColumns(ctx, {})).toEqual({});
    expect(stopIndexColumns(ctx, { phone: '1234', email: 'ann@example.com' })).toEqual({ phone_bidx: null, email_bidx: emailKey(ctx, 'ann@example.com') });
  });

  it('an unknown region stops the server naming the setting', () => {
    expect(() => loadConfig({ DEPOTLINE_PHONE_REGION: 'XX' })).toThrow(ConfigError);
    expect(() => loadConfig({ DEPOTLINE_PHONE_REGION: 'XX' })).toThrow(/DEPOTLINE_PHONE_REGION/);
    expect(loadConfig({ DEPOTLINE_PHONE_REGION: 'DE' }).privacy.phoneRegion).toBe('DE');
  });
});

describe.each(backends)('the blind index on written stops (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
  }, 120_000);
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  it('every stop the demo writes has the index of its phone and email, from a key file generated under the data directory', async () => {
    expect(ctx.blindIndexKey).toHaveLength(32);
    expect(await seedDemo(ctx, { locations: 1, routesPerLocation: 1, stopsPerRoute: 6 })).toMatchObject({ status: 'seeded' });
    const rows = await ctx.db.selectFrom('stops').selectAll().execute();
    expect(rows.length).toBe(6);
    for (const row of rows) {
      const { pii } = readStopPii(ctx, row);
      expect(row.phone_bidx).toBe(pii.phone ? phoneKey(ctx, pii.phone) : null);
      expect(row.email_bidx).toBe(pii.email ? emailKey(ctx, pii.email) : null);
    }
    expect(rows.some((r) => r.phone_bidx !== null)).toBe(true);
  });
});
