import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { appendAudit, systemActor } from '../src/audit/audit-log';
import { signCheckpoint } from '../src/audit/checkpoints';
import type { ServerContext } from '../src/context';
import { ageCheckpointRegister } from './audit-register';
import { ownerUrl, roleSeparatedContexts } from './pg-roles';

/*
 * PostgreSQL with role separation: the server's runtime role, with raw SQL only (no checkpoint
 * key, no pruneAuditLog), can insert checkpoint and anchor rows and call the owner's
 * `depotline_prune_audit()`. The database itself must still refuse to prune any entry younger
 * than the audit floor (365 days by the database's clock, migration 0025), and to end an anchor
 * at a checkpoint registered less than a day ago (so at one the runtime role just made up).
 */
describe('audit prune of recent entries by the runtime role (postgres)', () => {
  const roles = roleSeparatedContexts();

  const count = async (c: ServerContext) => Number((await sql<{ n: string }>`select count(*) as n from audit_log`.execute(c.db)).rows[0]!.n);
  /** What the runtime role can do by hand: an anchor row after `size`, then the owner's prune function. */
  const forgePrune = async (c: ServerContext, size: number, refusal: RegExp): Promise<string> => {
    const head = await sql<{ hash: string }>`select hash from audit_log where seq = ${size}`.execute(c.db);
    await expect(sql`insert into audit_anchors (first_seq, prev_hash, prune_seq, pruned_at, checkpoint_file, note_file)
      values (${size + 1}, ${head.rows[0]!.hash}, ${size + 1}, ${Date.now()}, 'forged', 'forged')`.execute(c.db)).rejects.toThrow(refusal);
    return (await sql<{ n: string }>`select depotline_prune_audit() as n`.execute(c.db)).rows[0]!.n;
  };

  it('an anchor on a minutes-old signed checkpoint, inserted by hand, is refused and depotline_prune_audit() deletes nothing', async () => {
    const { env, ctx: c } = await roles.open();
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      await c.db.transaction().execute((trx) => appendAudit(trx, systemActor, { action: 'test.entry', outcome: 'ok', details: { i } }, now + i));
    }
    expect((await signCheckpoint(c)).status).toBe('signed');
    // Even a checkpoint the server signed a day ago does not open entries younger than the floor.
    await ageCheckpointRegister(c.db, undefined, ownerUrl(env));
    expect(Number(await forgePrune(c, 10, /older than 365 days/))).toBe(0);
    expect(await count(c)).toBe(10);
    await expect(sql`delete from audit_log where seq <= 10`.execute(c.db)).rejects.toThrow(/permission denied/);
  });

  it('an entry appended with a made-up old time and a checkpoint row of its own do not open the recent entries either', async () => {
    const { env, ctx: c } = await roles.open();
    const old = Date.UTC(2020, 0, 1);
    for (let i = 0; i < 5; i++) {
      await c.db.transaction().execute((trx) => appendAudit(trx, systemActor, { action: 'test.entry', outcome: 'ok', details: { i } }, Date.now()));
    }
    // The runtime role appends an entry dated years back and registers a checkpoint at it itself.
    await c.db.transaction().execute((trx) => appendAudit(trx, systemActor, { action: 'test.entry', outcome: 'ok', details: { forged: true } }, old));
    const head = await sql<{ hash: string }>`select hash from audit_log where seq = 6`.execute(c.db);
    await sql`insert into audit_checkpoints (size, key_id, key_name, root_hash, file, signed_at)
      values (6, 'forged', 'forged', ${head.rows[0]!.hash}, 'forged', ${old})`.execute(c.db);
    await ageCheckpointRegister(c.db, undefined, ownerUrl(env));
    expect(Number(await forgePrune(c, 6, /older than 365 days/))).toBe(0);
    expect(await count(c)).toBe(6);
  });

  it('entries past the floor still need a checkpoint registered a day ago: one the runtime role inserts itself cannot be used at once', async () => {
    const { ctx: c } = await roles.open();
    const old = Date.UTC(2020, 0, 1);
    for (let i = 0; i < 5; i++) {
      await c.db.transaction().execute((trx) => appendAudit(trx, systemActor, { action: 'test.entry', outcome: 'ok', details: { i } }, old + i));
    }
    const head = await sql<{ hash: string }>`select hash from audit_log where seq = 5`.execute(c.db);
    // Backdated by the inserter: the database stamps its own time over it, and the runtime role cannot change it.
    await sql`insert into audit_checkpoints (size, key_id, key_name, root_hash, file, signed_at, recorded_at)
      values (5, 'forged', 'forged', ${head.rows[0]!.hash}, 'forged', ${old}, ${old})`.execute(c.db);
    await expect(sql`update audit_checkpoints set recorded_at = ${old}`.execute(c.db)).rejects.toThrow(/permission denied/);
    expect(Number(await forgePrune(c, 5, /registered at least 24 hours ago/))).toBe(0);
    expect(await count(c)).toBe(5);
  });
});
