import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { appendAudit, systemActor } from '../src/audit/audit-log';
import { signCheckpoint } from '../src/audit/checkpoints';
import { pruneAuditLog } from '../src/audit/retention';
import { verifyAuditLog } from '../src/audit/verify-checkpoints';
import { auditAppendOnlyStatus } from '../src/db/roles';
import { ageCheckpointRegister } from './audit-register';
import { ownerUrl, roleSeparatedContexts } from './pg-roles';

/*
 * PostgreSQL with role separation (docs/operations.md, "Database roles"): the server's runtime
 * role holds no DELETE on the audit log, yet the scheduled prune works, through the owner's
 * `depotline_prune_audit()`, and deletes only below the anchor it has just recorded.
 */

describe('audit prune under PostgreSQL role separation', () => {
  const roles = roleSeparatedContexts();

  it('the runtime role cannot delete audit entries, but prunes an anchored prefix through the owner function', async () => {
    const { env, ctx: c } = await roles.open();
    expect(await auditAppendOnlyStatus(c.db, 'postgres')).toMatchObject({ byRole: true, role: roles.runtimeRole });

    const t0 = Date.UTC(2024, 0, 1);
    c.now = () => t0 + 800 * 86_400_000;
    for (let i = 0; i < 10; i++) {
      await c.db.transaction().execute((trx) => appendAudit(trx, systemActor, { action: 'test.entry', outcome: 'ok', details: { i } }, t0 + i));
    }
    expect((await signCheckpoint(c)).status).toBe('signed');
    await expect(sql`delete from audit_log where seq <= 10`.execute(c.db)).rejects.toThrow(/permission denied/);
    // An anchor needs a checkpoint registered a day ago by the database's clock (the owner ages it here).
    await ageCheckpointRegister(c.db, undefined, ownerUrl(env));

    expect(await pruneAuditLog(c, t0 + 400 * 86_400_000)).toEqual({ deleted: 10, anchorSeq: 11 });
    // Still no direct way: the gate is the anchor, the privilege the owner's.
    await expect(sql`delete from audit_log`.execute(c.db)).rejects.toThrow(/permission denied/);
    await expect(sql`delete from audit_anchors`.execute(c.db)).rejects.toThrow(/permission denied/);
    const result = await verifyAuditLog(c.db, { dir: c.config.checkpoints.dir, verifiers: [c.checkpointKeys.signer] });
    expect(result).toMatchObject({ ok: true, chain: { entries: 11, anchor: { firstSeq: 11 } } });
  });
});
