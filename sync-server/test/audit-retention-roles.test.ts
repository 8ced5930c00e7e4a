import crypto from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit, systemActor } from '../src/audit/audit-log';
import { signCheckpoint } from '../src/audit/checkpoints';
import { pruneAuditLog } from '../src/audit/retention';
import { verifyAuditLog } from '../src/audit/verify-checkpoints';
import type { ServerContext } from '../src/context';
import { auditAppendOnlyStatus } from '../src/db/roles';
import { createTestContext, type TestEnv } from './harness';
import { asSuperuser, roleSeparatedEnv } from './pg-roles';

/*
 * PostgreSQL with role separation (docs/operations.md, "Database roles"): the server's runtime
 * role holds no DELETE on the audit log, yet the scheduled prune works, through the owner's
 * `depotline_prune_audit()`, and deletes only below the anchor it has just recorded.
 */

describe('audit prune under PostgreSQL role separation', () => {
  const tag = crypto.randomBytes(4).toString('hex');
  const ownerRole = `depotline_owner_${tag}`;
  const runtimeRole = `depotline_app_${tag}`;
  let env: TestEnv | null = null;
  let ctx: ServerContext | null = null;
  afterEach(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
    ctx = null;
    env = null;
    await asSuperuser([`drop role if exists ${runtimeRole}`, `drop role if exists ${ownerRole}`]);
  });

  it('the runtime role cannot delete audit entries, but prunes an anchored prefix through the owner function', async () => {
    env = await roleSeparatedEnv(ownerRole, runtimeRole);
    ctx = await createTestContext(env);
    const c = ctx;
    expect(await auditAppendOnlyStatus(c.db, 'postgres')).toMatchObject({ byRole: true, role: runtimeRole });

    const t0 = Date.UTC(2024, 0, 1);
    c.now = () => t0 + 800 * 86_400_000;
    for (let i = 0; i < 10; i++) {
      await c.db.transaction().execute((trx) => appendAudit(trx, systemActor, { action: 'test.entry', outcome: 'ok', details: { i } }, t0 + i));
    }
    expect((await signCheckpoint(c)).status).toBe('signed');
    await expect(sql`delete from audit_log where seq <= 10`.execute(c.db)).rejects.toThrow(/permission denied/);

    expect(await pruneAuditLog(c, t0 + 400 * 86_400_000)).toEqual({ deleted: 10, anchorSeq: 11 });
    // Still no direct way: the gate is the anchor, the privilege the owner's.
    await expect(sql`delete from audit_log`.execute(c.db)).rejects.toThrow(/permission denied/);
    await expect(sql`delete from audit_anchors`.execute(c.db)).rejects.toThrow(/permission denied/);
    const result = await verifyAuditLog(c.db, { dir: c.config.checkpoints.dir, verifiers: [c.checkpointKeys.signer] });
    expect(result).toMatchObject({ ok: true, chain: { entries: 11, anchor: { firstSeq: 11 } } });
  });
});
