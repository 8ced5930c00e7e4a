/**
 * "The PII columns in the database file do not contain the plaintext of seeded customer data"
 * (issue 2). The demo dataset is seeded through the real services, then the storage is read
 * the way an attacker with a copy of it would: raw file bytes for SQLite (main file and WAL),
 * a pg_dump and the raw columns for PostgreSQL. Each scan first finds a string that *is*
 * stored in the clear, so a scan that finds nothing cannot pass by looking in the wrong place.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerContext } from '../src/context';
import { FieldCipher, FieldDecryptError, fieldAad } from '../src/crypto/field-cipher';
import { seedDemo } from '../src/provisioning/seed-demo';
import { presentStop, type StopRow } from '../src/sync/presenters';
import { backends, createTestContext, createTestEnv, type TestEnv } from './harness';

const run = promisify(execFile);

/** Every customer value seeded, plus surnames alone (a leak of part of a name is a leak). */
function plaintextsOf(ctx: ServerContext, rows: StopRow[]): string[] {
  const out = new Set<string>();
  for (const row of rows) {
    const stop = presentStop(ctx, row);
    // Contact and payment values of the order are encrypted like the customer fields (0008-orders).
    const coordinates = stop.coordinates ? `${stop.coordinates.lat},${stop.coordinates.lng}` : null;
    for (const value of [stop.customerName, stop.address, stop.phone, stop.notes, stop.email, stop.paymentRef, coordinates]) {
      if (value) out.add(value);
    }
    const surname = stop.customerName?.split(' ').at(-1);
    if (surname && surname.length >= 5) out.add(surname);
  }
  return [...out];
}

function found(haystack: Buffer, needles: readonly string[]): string[] {
  return needles.filter((n) => haystack.includes(Buffer.from(n, 'utf8')));
}

const readIfExists = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0));

async function pgDump(url: string): Promise<Buffer> {
  const candidates = ['pg_dump', ...fs.readdirSync('/usr/lib/postgresql', { withFileTypes: true })
    .filter((d) => d.isDirectory()).map((d) => `/usr/lib/postgresql/${d.name}/bin/pg_dump`).sort().reverse()];
  let lastError: unknown = null;
  for (const bin of candidates) {
    try {
      const { stdout } = await run(bin, ['--no-owner', '--data-only', url], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`pg_dump failed: ${String(lastError)}`);
}

describe.each(backends)('customer PII at rest (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  let rows: StopRow[];
  let plaintexts: string[];
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    const seeded = await seedDemo(ctx, { locations: 2, routesPerLocation: 3, stopsPerRoute: 10 });
    expect(seeded.status).toBe('seeded');
    rows = await ctx.db.selectFrom('stops').selectAll().orderBy('id').execute();
    plaintexts = plaintextsOf(ctx, rows);
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  it('seeded a realistic amount of customer data to look for', () => {
    expect(rows).toHaveLength(60);
    // Phones are optional: most stops have one, and the scan covers them.
    expect(plaintexts.filter((p) => p.startsWith('+44 7700 900')).length).toBeGreaterThan(30);
    expect(plaintexts.some((p) => [...p].some((ch) => ch.codePointAt(0)! > 0x7f))).toBe(true);
    // The order's contact and payment values too: most stops have an email, all a payment reference and coordinates.
    expect(plaintexts.filter((p) => p.endsWith('@example.com')).length).toBeGreaterThan(20);
    expect(plaintexts.filter((p) => p.startsWith('PAY-'))).toHaveLength(60);
    expect(plaintexts.filter((p) => /^-?\d+\.\d+,-?\d+\.\d+$/.test(p)).length).toBeGreaterThan(50);
  });

  it('the PII columns hold only authenticated ciphertext, bound to their row and column', () => {
    for (const row of rows) {
      for (const value of [row.customer_name_enc, row.address_enc, row.phone_enc, row.notes_enc, row.email_enc, row.payment_ref_enc, row.coordinates_enc]) {
        if (value !== null) expect(value).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
      }
    }
    const columns = JSON.stringify(rows.map((r) => [r.customer_name_enc, r.address_enc, r.phone_enc, r.notes_enc, r.email_enc, r.payment_ref_enc, r.coordinates_enc]));
    expect(found(Buffer.from(columns), plaintexts)).toEqual([]);
    // Copied into another row, a ciphertext no longer decrypts.
    const [a, b] = rows as [StopRow, StopRow];
    expect(() => ctx.cipher.decrypt(a.customer_name_enc, fieldAad('stops', 'customer_name', b.id))).toThrow(FieldDecryptError);
    // Or into another column of its own row: a payment reference is not an email.
    expect(() => ctx.cipher.decrypt(a.payment_ref_enc!, fieldAad('stops', 'email', a.id))).toThrow(FieldDecryptError);
  });

  it('without the field key, the stored values cannot be decrypted', () => {
    const wrong = new FieldCipher([crypto.randomBytes(32)]);
    for (const row of rows.slice(0, 10)) {
      expect(() => wrong.decrypt(row.address_enc, fieldAad('stops', 'address', row.id))).toThrow(FieldDecryptError);
      // Same key id forged onto the value: authentication still fails.
      const forged = row.address_enc.replace(/^v1\.[0-9a-f]{8}\./, `v1.${wrong.encrypt('x', 'y').split('.')[1]}.`);
      expect(() => wrong.decrypt(forged, fieldAad('stops', 'address', row.id))).toThrow(FieldDecryptError);
    }
  });

  it('the audit log records the stops but none of their customer data', async () => {
    const audit = await ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'stop.create').execute();
    expect(audit).toHaveLength(60);
    expect(found(Buffer.from(JSON.stringify(audit)), plaintexts)).toEqual([]);
  });

  if (backend === 'sqlite') {
    it('the SQLite file and its WAL contain none of the plaintext, before and after a checkpoint', async () => {
      const file = env.sqliteFile!;
      const bytes = () => Buffer.concat([readIfExists(file), readIfExists(`${file}-wal`), readIfExists(`${file}-shm`)]);
      // Control: the scan does see what is stored in the clear.
      expect(found(bytes(), ['North Depot', 'dispatcher.north'])).toEqual(['North Depot', 'dispatcher.north']);
      expect(found(bytes(), plaintexts)).toEqual([]);

      await ctx.db.destroy(); // closing checkpoints the WAL into the main file
      ctx = await createTestContext(env);
      expect(found(readIfExists(file), ['North Depot'])).toEqual(['North Depot']);
      expect(found(bytes(), plaintexts)).toEqual([]);
    });
  } else {
    it('a pg_dump of the database contains none of the plaintext', async () => {
      const dump = await pgDump(env.databaseUrl!);
      expect(found(dump, ['North Depot', 'dispatcher.north'])).toEqual(['North Depot', 'dispatcher.north']);
      expect(found(dump, plaintexts)).toEqual([]);
    });
  }
});
