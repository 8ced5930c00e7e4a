import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAdmin } from '../../test/admin-cli';
import { removeAppendOnlyGuards } from '../../test/audit-chain';
import { ageCheckpointRegister } from '../../test/audit-register';
import { buildUser } from '../../test/factories';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';
import { readAuditAnchor } from './anchor';
import { appendAudit, type ChainedFields, hashEntry, systemActor } from './audit-log';
import { signCheckpoint } from './checkpoints';
import { pruneAuditLog, purgeEndedSessions } from './retention';
import { verifyAuditChain } from './verify';
import { verifyAuditLog } from './verify-checkpoints';

/*
 * Audit retention: a prefix past the audit period is deleted only up to a signed checkpoint and
 * leaves an anchor the verification starts from. The insider tests play someone with the owner's
 * database access but not the checkpoint key (the append-only triggers removed, raw SQL).
 */

const day = 86_400_000;
const t0 = Date.UTC(2024, 0, 1);
const now = t0 + 800 * day;
const cutoff = now - 730 * day;

describe.each(backends)('audit-log retention (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  const verify = () => verifyAuditLog(ctx.db, { dir: ctx.config.checkpoints.dir, verifiers: [ctx.checkpointKeys.signer] });
  const seqs = async () => (await ctx.db.selectFrom('audit_log').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
  const append = async (count: number, at: number) => {
    for (let i = 0; i < count; i++) {
      await ctx.db.transaction().execute((trx) => appendAudit(trx, systemActor, { action: 'test.entry', outcome: 'ok', details: { i } }, at + i));
    }
  };
  /** The insider's first step: the append-only triggers of 0006 and 0025 removed (the owner may). */
  const removeGuards = async () => {
    await removeAppendOnlyGuards(ctx.db);
    for (const name of ['audit_anchors_check', 'audit_anchors_no_update', 'audit_anchors_no_delete', 'audit_anchors_append_only']) {
      if (backend === 'postgres') await sql`drop trigger if exists ${sql.id(name)} on audit_anchors`.execute(ctx.db);
      else await sql`drop trigger if exists ${sql.id(name)}`.execute(ctx.db);
    }
  };
  const sign = async () => expect((await signCheckpoint(ctx)).status).toBe('signed');

  beforeEach(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    ctx.now = () => now;
    // Old entries 1..22 with checkpoints at 12 and 20; recent entries 23..25 with a checkpoint at 25.
    await append(12, t0);
    await sign();
    await append(8, t0 + day);
    await sign();
    await append(2, t0 + 2 * day);
    await append(3, cutoff + day);
    await sign();
    // Registered two days ago by the database's clock: an anchor needs a checkpoint a day old.
    await ageCheckpointRegister(ctx.db);
  });
  afterEach(async () => {
    await ctx.db.destroy();
    await env.dispose();
  });

  it('prunes up to the newest signed checkpoint before the cutoff, audits it, and verification starts at the anchor', async () => {
    expect(await pruneAuditLog(ctx, cutoff)).toEqual({ deleted: 20, anchorSeq: 21 });
    expect(await seqs()).toEqual([21, 22, 23, 24, 25, 26]);
    const entry = await ctx.db.selectFrom('audit_log').selectAll().where('seq', '=', 26).executeTakeFirstOrThrow();
    const checkpoint20 = await ctx.db.selectFrom('audit_checkpoints').select(['root_hash', 'file']).where('size', '=', 20).executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ action: 'audit.prune', outcome: 'ok', actor: 'system' });
    expect(JSON.parse(entry.details)).toEqual({
      fromSeq: 1, toSeq: 20, deleted: 20, firstKeptSeq: 21, prevHash: checkpoint20.root_hash, checkpoint: checkpoint20.file, cutoff,
    });

    const result = await verify();
    expect(result.ok).toBe(true);
    expect(result.chain).toMatchObject({ ok: true, entries: 26, anchor: { firstSeq: 21, prevHash: checkpoint20.root_hash, pruneSeq: 26 } });
    // 12 is below the anchor (signature checked, entries gone); 20 is the anchor's; 25 is in the log.
    expect(result.checkpoints).toMatchObject({ matched: 2, pruned: 1, latest: { size: 25 }, problems: [] });
    const human = await runAdmin(env, ['audit', 'verify']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Audit log intact: 26 entries \(seq 21 to 26 kept\)/);
    expect(human.stdout).toMatch(/Pruned: entries 1 to 20 were deleted past the audit period .*audit\.prune entry 26.*seq 21/);
    // Signing goes on from the pruned log, and what it signs verifies.
    await sign();
    expect(await verify()).toMatchObject({ ok: true, checkpoints: { latest: { size: 26 }, problems: [] } });

    // Nothing more is old enough and covered: a second run deletes nothing.
    expect(await pruneAuditLog(ctx, cutoff)).toEqual({ deleted: 0, anchorSeq: null });
    // A later cutoff moves the anchor on to the next checkpoint (25), from the anchor in force.
    ctx.now = () => now + 10 * day;
    expect(await pruneAuditLog(ctx, cutoff + 2 * day)).toEqual({ deleted: 5, anchorSeq: 26 });
    expect(await verify()).toMatchObject({ ok: true, chain: { anchor: { firstSeq: 26 } }, checkpoints: { pruned: 2, problems: [] } });
  });

  it('a pruned log verifies chunk by chunk from the anchor, in worker threads too', async () => {
    await pruneAuditLog(ctx, cutoff);
    let inWorkers = 0;
    for (const options of [{ batchSize: 2, workers: 1, checkInThisThread: false }, { batchSize: 4, workers: 0 }]) {
      expect(await verifyAuditChain(ctx.db, { ...options, onStats: (st) => { inWorkers += st.chunksInWorkers; } })).toMatchObject({ ok: true, entries: 26, anchor: { firstSeq: 21 } });
    }
    // Seqs 21..26 in chunks of 2, all checked by the worker.
    expect(inWorkers).toBe(3);
    await removeGuards();
    await sql`update audit_log set outcome = 'denied' where seq = 24`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db, { batchSize: 2, workers: 1, checkInThisThread: false })).toMatchObject({ ok: false, entries: 23, firstBroken: { seq: 24, reason: 'altered' } });
  });

  it('prunes nothing without a signed checkpoint old enough, and refuses a cutoff inside the minimum period', async () => {
    expect(await pruneAuditLog(ctx, t0 + 5)).toEqual({ deleted: 0, anchorSeq: null });
    await expect(pruneAuditLog(ctx, now - 100 * day)).rejects.toThrow(/at least 365 days/);
    expect(await seqs()).toHaveLength(25);
    expect(await readAuditAnchor(ctx.db)).toBeNull();
  });

  it('refuses to prune a log that does not verify: nothing deleted, the refusal audited', async () => {
    await removeAppendOnlyGuards(ctx.db);
    await sql`update audit_log set outcome = 'denied' where seq = 5`.execute(ctx.db);
    const result = await pruneAuditLog(ctx, cutoff);
    expect(result).toMatchObject({ deleted: 0, anchorSeq: null, refused: expect.stringMatching(/seq 5 \(altered\)/) as unknown });
    expect((await seqs()).slice(0, 3)).toEqual([1, 2, 3]);
    expect(await ctx.db.selectFrom('audit_log').select(['action', 'outcome']).where('seq', '=', 26).executeTakeFirst()).toEqual({ action: 'audit.prune', outcome: 'failed' });
  });

  it('the database refuses deletions and anchors that are not an anchored prune', async () => {
    // The server's own connection, triggers in place.
    await expect(sql`delete from audit_log where seq <= 12`.execute(ctx.db)).rejects.toThrow(/append-only/);
    const hash12 = (await ctx.db.selectFrom('audit_log').select('hash').where('seq', '=', 12).executeTakeFirstOrThrow()).hash;
    const hash13 = (await ctx.db.selectFrom('audit_log').select('hash').where('seq', '=', 13).executeTakeFirstOrThrow()).hash;
    const anchor = { prune_seq: 25, pruned_at: now, checkpoint_file: 'x', note_file: 'y' };
    // Not at a checkpoint; at a checkpoint with another hash.
    await expect(ctx.db.insertInto('audit_anchors').values({ ...anchor, first_seq: 14, prev_hash: hash13 }).execute()).rejects.toThrow(/anchor/);
    await expect(ctx.db.insertInto('audit_anchors').values({ ...anchor, first_seq: 13, prev_hash: hash13 }).execute()).rejects.toThrow(/anchor/);
    expect(await seqs()).toHaveLength(25);
    // After a real prune: no entry at or above the anchor can be deleted, and the anchor stays.
    await pruneAuditLog(ctx, cutoff);
    await expect(sql`delete from audit_log where seq = 22`.execute(ctx.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_anchors`.execute(ctx.db)).rejects.toThrow(/append-only/);
    expect(hash12).toHaveLength(64);
    expect(await verify()).toMatchObject({ ok: true });
  });

  it('the database keeps the audit floor by its own clock: no anchor over, and no deletion of, an entry younger than 365 days', async () => {
    // Entries 26 and 27 written now (real time); 28 appended with a made-up old time, then signed.
    await append(2, Date.now());
    await append(1, t0);
    await sign();
    await ageCheckpointRegister(ctx.db);
    const hashOf = async (seq: number) => (await ctx.db.selectFrom('audit_log').select('hash').where('seq', '=', seq).executeTakeFirstOrThrow()).hash;
    const anchor = { prune_seq: 28, pruned_at: now, checkpoint_file: 'x', note_file: 'y' };
    // At a signed checkpoint of the log as it is, yet the prefix holds entries 26 and 27.
    await expect(ctx.db.insertInto('audit_anchors').values({ ...anchor, first_seq: 29, prev_hash: await hashOf(28) }).execute()).rejects.toThrow(/older than 365 days/);
    // The server's prune, asked for a cutoff past them (its clock moved on), stops at the old prefix.
    ctx.now = () => Date.now() + 400 * day;
    expect(await pruneAuditLog(ctx, Date.now() + 10 * day)).toEqual({ deleted: 25, anchorSeq: 26 });
    // Without the anchor check (the owner may drop it), a young entry below an anchor still cannot be deleted.
    if (backend === 'postgres') await sql`drop trigger audit_anchors_check on audit_anchors`.execute(ctx.db);
    else await sql`drop trigger audit_anchors_check`.execute(ctx.db);
    await ctx.db.insertInto('audit_anchors').values({ ...anchor, first_seq: 29, prev_hash: await hashOf(28) }).execute();
    await expect(sql`delete from audit_log where seq = 27`.execute(ctx.db)).rejects.toThrow(/older than 365 days/);
    expect(await seqs()).toEqual([26, 27, 28, 29]);
  });

  it('an anchor needs a checkpoint the database registered at least a day ago, and only the database dates the register', async () => {
    // Entries 26 and 27 are old, and signed just now.
    await append(2, t0 + 3 * day);
    await sign();
    const hash27 = (await ctx.db.selectFrom('audit_log').select('hash').where('seq', '=', 27).executeTakeFirstOrThrow()).hash;
    ctx.now = () => Date.now();
    // The prune passes over the fresh checkpoint and ends at the one of size 25.
    expect(await pruneAuditLog(ctx, Date.now() - 400 * day)).toEqual({ deleted: 25, anchorSeq: 26 });
    await expect(ctx.db.insertInto('audit_anchors').values({ first_seq: 28, prev_hash: hash27, prune_seq: 28, pruned_at: now, checkpoint_file: 'x', note_file: 'y' }).execute())
      .rejects.toThrow(/registered at least 24 hours ago/);
    await expect(sql`update audit_checkpoints set recorded_at = 0 where size = 27`.execute(ctx.db)).rejects.toThrow(/append-only/);
    // A day later the checkpoint of size 27 may be used.
    await ageCheckpointRegister(ctx.db);
    expect(await pruneAuditLog(ctx, Date.now() - 400 * day)).toEqual({ deleted: 2, anchorSeq: 28 });

    // A register row cannot be backdated by whoever inserts it: the database stamps or refuses it.
    const row = { size: 29, key_id: 'other', key_name: 'other', root_hash: 'f'.repeat(64), file: 'other.checkpoint', signed_at: t0, recorded_at: 0 };
    if (backend === 'postgres') {
      await ctx.db.insertInto('audit_checkpoints').values(row).execute();
      const stamped = await ctx.db.selectFrom('audit_checkpoints').select('recorded_at').where('key_id', '=', 'other').executeTakeFirstOrThrow();
      expect(Number(stamped.recorded_at)).toBeGreaterThan(Date.now() - day);
    } else {
      await expect(ctx.db.insertInto('audit_checkpoints').values(row).execute()).rejects.toThrow(/records when it was registered/);
    }
  });

  it('catches an insider: a middle row deleted, a prefix deleted without an anchor, the anchor deleted', async () => {
    await pruneAuditLog(ctx, cutoff);
    await removeGuards();

    await sql`delete from audit_log where seq = 23`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, entries: 22, firstBroken: { seq: 23, reason: 'missing' } });

    // The anchor removed: the log is walked from seq 1 again, and seq 1 is gone.
    await sql`delete from audit_anchors`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, entries: 0, firstBroken: { seq: 1, reason: 'missing' } });
  });

  it('catches a forged anchor: made up at a real checkpoint, even with a forged prune entry and head', async () => {
    await removeGuards();
    const hash12 = (await ctx.db.selectFrom('audit_log').select('hash').where('seq', '=', 12).executeTakeFirstOrThrow()).hash;
    await sql`delete from audit_log where seq <= 12`.execute(ctx.db);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, firstBroken: { seq: 1, reason: 'missing' } });

    // An anchor row at the checkpoint of size 12 (the database check passes: the entry was there), naming entry 25.
    const anchor = { first_seq: 13, prev_hash: hash12, pruned_at: now, checkpoint_file: '000000000012-x.checkpoint', note_file: '000000000013-000000000026-00000000.anchor' };
    await ctx.db.insertInto('audit_anchors').values({ ...anchor, prune_seq: 25 }).execute();
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: false, entries: 12, firstBroken: { seq: 13, reason: 'bad_anchor' } });

    // The insider also appends the audit.prune entry the anchor needs (hashing is public) and moves the head.
    const head = await ctx.db.selectFrom('audit_head').select(['seq', 'hash']).executeTakeFirstOrThrow();
    const fields: ChainedFields = {
      seq: Number(head.seq) + 1, at: now, actor_user_id: null, actor: 'system', action: 'audit.prune', outcome: 'ok', target_type: 'audit_log',
      target_id: null, location_id: null, details: JSON.stringify({ firstKeptSeq: 13, prevHash: hash12 }), device_id: null, ip: null, prev_hash: head.hash,
    };
    const hash = hashEntry(fields);
    await ctx.db.insertInto('audit_log').values({ ...fields, hash }).execute();
    await ctx.db.updateTable('audit_head').set({ seq: fields.seq, hash }).execute();
    await ctx.db.updateTable('audit_anchors').set({ prune_seq: fields.seq }).execute();

    // The database alone is now consistent; the signed side is not: no note signed with the key.
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: true, anchor: { firstSeq: 13 } });
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.checkpoints.problems).toContainEqual(expect.objectContaining({ kind: 'unsigned_anchor', detail: expect.stringMatching(/missing/) as unknown }));
    // The checkpoint signer refuses to sign over it.
    expect(await signCheckpoint(ctx)).toMatchObject({ status: 'refused', detail: expect.stringMatching(/not vouched for/) as unknown });
  });

  it('catches a legitimate anchor whose signed note was removed or edited', async () => {
    await pruneAuditLog(ctx, cutoff);
    const anchor = (await readAuditAnchor(ctx.db))!;
    const file = path.join(ctx.config.checkpoints.dir, anchor.noteFile);
    const note = fs.readFileSync(file, 'utf8');
    fs.rmSync(file);
    expect((await verify()).checkpoints.problems).toContainEqual(expect.objectContaining({ kind: 'unsigned_anchor' }));
    fs.writeFileSync(file, note.replace('\n21\n', '\n13\n'));
    expect((await verify()).checkpoints.problems).toContainEqual(expect.objectContaining({ kind: 'unsigned_anchor', detail: expect.stringMatching(/not signed/) as unknown }));
  });
});

describe.each(backends)('ended sessions purge (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  afterEach(async () => {
    await ctx.db.destroy();
    await env.dispose();
  });

  it('deletes sessions revoked or expired before the cutoff with their refresh tokens, and keeps the rest', async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    const user = await buildUser(ctx);
    const base = { user_id: user.id, device_id: 'device-1', device_name: null, ip: null, created_at: t0, last_seen_at: t0, revoke_reason: null };
    await ctx.db.insertInto('sessions').values([
      { ...base, id: 's-expired', expires_at: t0 + day, revoked_at: null },
      { ...base, id: 's-revoked', expires_at: t0 + 900 * day, revoked_at: t0 + 2 * day },
      { ...base, id: 's-recent-end', expires_at: cutoff + day, revoked_at: null },
      { ...base, id: 's-live', expires_at: now + day, revoked_at: null },
    ]).execute();
    await ctx.db.insertInto('refresh_tokens').values(['s-expired', 's-expired', 's-revoked', 's-live'].map((s, i) => ({ token_hash: `h${i}`, session_id: s, created_at: t0, used_at: null }))).execute();

    const first = await ctx.db.transaction().execute((trx) => purgeEndedSessions(trx, cutoff, 1));
    expect(first).toEqual({ sessionIds: ['s-expired'], refreshTokens: 2 });
    expect(await purgeEndedSessions(ctx.db, cutoff)).toEqual({ sessionIds: ['s-revoked'], refreshTokens: 1 });
    expect(await purgeEndedSessions(ctx.db, cutoff)).toEqual({ sessionIds: [], refreshTokens: 0 });
    const left = (await ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).orderBy('id').execute()).map((r) => r.id);
    expect(left).toEqual(['s-live', 's-recent-end']);
    expect((await ctx.db.selectFrom('refresh_tokens').select('token_hash').execute()).map((r) => r.token_hash)).toEqual(['h3']);
  });
});
